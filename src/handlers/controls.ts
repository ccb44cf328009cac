/**
 * Test controls (franz-go kfake's ControlKey): a test intercepts requests of one API key and
 * answers them itself, injects an error code, delays them, or drops the connection. A control
 * that returns 'pass' (or nothing) lets the request through and stays armed; one that acts is
 * removed after firing unless it was added with `keep: true`. Controls of one key run in the
 * order they were added; the first that acts wins.
 */

export type ControlAction =
  /** Not this one: the next control, then the real handler, sees the request. */
  | { readonly action: 'pass' }
  /** Answer with this response body (of the request's API and version). */
  | { readonly action: 'respond'; readonly response: unknown }
  /** Answer with the handler's error response for this code (e.g. 7 REQUEST_TIMED_OUT). */
  | { readonly action: 'error'; readonly errorCode: number }
  /** Close the connection without answering. */
  | { readonly action: 'drop' }
  /** Hold the request this long, then let the real handler answer it. */
  | { readonly action: 'delay'; readonly delayMs: number };

export interface ControlledRequest<Request = unknown> {
  readonly apiKey: number;
  readonly version: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly connectionId: number;
  readonly request: Request;
}

export type ControlFn<Request = unknown> = (
  request: ControlledRequest<Request>,
) => ControlAction | undefined | Promise<ControlAction | undefined>;

export interface ControlOptions {
  /** Stay armed after acting (default: removed after the first time it acts). */
  readonly keep?: boolean;
}

export interface ControlHandle {
  /** How many times this control has acted. */
  readonly fired: number;
  remove(): void;
}

interface Control {
  readonly fn: ControlFn;
  readonly keep: boolean;
  fired: number;
  removed: boolean;
}

/** No test needs more; a bound keeps a leaking test from growing the table without limit. */
const controlsPerKeyMax = 1024;

export class ControlRegistry {
  readonly #byKey = new Map<number, Control[]>();

  add<Request>(
    apiKey: number,
    fn: ControlFn<Request>,
    options: ControlOptions = {},
  ): ControlHandle {
    const list = this.#byKey.get(apiKey) ?? [];
    if (list.length >= controlsPerKeyMax) {
      throw new RangeError(`more than ${controlsPerKeyMax} controls on API key ${apiKey}`);
    }
    const control: Control = {
      fn: fn as ControlFn,
      keep: options.keep ?? false,
      fired: 0,
      removed: false,
    };
    list.push(control);
    this.#byKey.set(apiKey, list);
    return {
      get fired() {
        return control.fired;
      },
      remove: () => this.#remove(apiKey, control),
    };
  }

  /** True when some control watches `apiKey` (the fast path skips everything otherwise). */
  has(apiKey: number): boolean {
    return this.#byKey.has(apiKey);
  }

  /** Runs the controls of the request's key in order; the first action that is not 'pass'. */
  async run(controlled: ControlledRequest): Promise<ControlAction | undefined> {
    const list = this.#byKey.get(controlled.apiKey);
    if (!list) return undefined;
    for (const control of [...list]) {
      if (control.removed) continue;
      const action = await control.fn(controlled);
      if (action === undefined || action.action === 'pass') continue;
      // Another request may have fired a one-shot control while this one awaited.
      if (control.removed) continue;
      control.fired++;
      if (!control.keep) this.#remove(controlled.apiKey, control);
      return action;
    }
    return undefined;
  }

  #remove(apiKey: number, control: Control): void {
    control.removed = true;
    const list = this.#byKey.get(apiKey);
    if (!list) return;
    const rest = list.filter((c) => c !== control);
    if (rest.length === 0) this.#byKey.delete(apiKey);
    else this.#byKey.set(apiKey, rest);
  }
}
