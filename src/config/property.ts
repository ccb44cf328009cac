/**
 * What a configuration property is: its type, default, validation and documentation. The
 * catalogue (catalogue.ts) is a table of these; parsing and validation are driven by it, so a
 * property exists in exactly one place.
 */

export type PropertyType = 'int' | 'long' | 'string' | 'boolean' | 'list';

export interface ValueOfType {
  int: number;
  long: number;
  string: string;
  boolean: boolean;
  list: readonly string[];
}

export interface PropertySpec<T extends PropertyType = PropertyType, N extends boolean = boolean> {
  readonly type: T;
  readonly default: ValueOfType[T] | null;
  /** Whether `null` (unset) is a legal value; only then may `default` be null. */
  readonly nullable: N;
  /** Returns why a value is invalid, or undefined when it is fine. */
  readonly validate?: (value: ValueOfType[T]) => string | undefined;
  /** One line for `--help` and the README. */
  readonly doc: string;
  /** Whether a running broker can change it without a restart (Kafka's dynamic configs). */
  readonly dynamic: boolean;
}

interface Extra<T extends PropertyType> {
  readonly validate?: (value: ValueOfType[T]) => string | undefined;
  readonly dynamic?: boolean;
}

function spec<T extends PropertyType, N extends boolean>(
  type: T,
  defaultValue: ValueOfType[T] | null,
  nullable: N,
  doc: string,
  extra: Extra<T>,
): PropertySpec<T, N> {
  return {
    type,
    default: defaultValue,
    nullable,
    doc,
    dynamic: extra.dynamic ?? false,
    ...(extra.validate ? { validate: extra.validate } : {}),
  };
}

export const prop = {
  int: (d: number, doc: string, extra: Extra<'int'> = {}) => spec('int', d, false, doc, extra),
  long: (d: number, doc: string, extra: Extra<'long'> = {}) => spec('long', d, false, doc, extra),
  string: (d: string, doc: string, extra: Extra<'string'> = {}) =>
    spec('string', d, false, doc, extra),
  boolean: (d: boolean, doc: string, extra: Extra<'boolean'> = {}) =>
    spec('boolean', d, false, doc, extra),
  list: (d: readonly string[], doc: string, extra: Extra<'list'> = {}) =>
    spec('list', d, false, doc, extra),
  optionalInt: (doc: string, extra: Extra<'int'> = {}) => spec('int', null, true, doc, extra),
  optionalLong: (doc: string, extra: Extra<'long'> = {}) => spec('long', null, true, doc, extra),
  optionalString: (doc: string, extra: Extra<'string'> = {}) =>
    spec('string', null, true, doc, extra),
  optionalList: (doc: string, extra: Extra<'list'> = {}) => spec('list', null, true, doc, extra),
} as const;

// Validators return a reason ("must be at least 1"), phrased to follow the property's name.

export function atLeast(min: number): (value: number) => string | undefined {
  return (value) => (value >= min ? undefined : `must be at least ${min}`);
}

export function between(min: number, max: number): (value: number) => string | undefined {
  return (value) => (value >= min && value <= max ? undefined : `must be in [${min}, ${max}]`);
}

export function oneOf(allowed: readonly string[]): (value: string) => string | undefined {
  return (value) => (allowed.includes(value) ? undefined : `must be one of ${allowed.join(', ')}`);
}

export function eachOneOf(
  allowed: readonly string[],
): (value: readonly string[]) => string | undefined {
  return (values) => {
    const bad = values.find((v) => !allowed.includes(v));
    return bad === undefined ? undefined : `'${bad}' is not one of ${allowed.join(', ')}`;
  };
}
