/**
 * Everything a replica hands to its driver: messages, and storage actions that the driver
 * confirms later. It enforces the persistence order: a message waits until every quorum-state
 * write requested before it is durable, so no peer ever sees a vote or an epoch that a crash
 * could take back. Flush requests carry the truncation generation they were asked in, so a
 * confirmation that crossed a truncation is recognised as stale.
 */
import type { RaftEnvelope, RaftMessage } from './messages.ts';
import type { ElectionState } from './raft-log.ts';
import type { RaftOutput, StorageAction } from './replica-config.ts';

interface HeldMessage {
  readonly version: number;
  readonly envelope: RaftEnvelope;
}

export class Outbox {
  readonly #nodeId: number;
  readonly #heldMessagesMax: number;
  #messages: RaftEnvelope[] = [];
  #storage: StorageAction[] = [];
  #held: HeldMessage[] = [];
  #nextCorrelationId = 1;
  #requestedState: ElectionState;
  #requestedVersion = 0;
  #persistedVersion = 0;
  #pendingStates: { readonly version: number; readonly state: ElectionState }[] = [];
  #durableState: ElectionState;
  #flushRequested = false;

  constructor(nodeId: number, heldMessagesMax: number, stored: ElectionState) {
    this.#nodeId = nodeId;
    this.#heldMessagesMax = heldMessagesMax;
    this.#requestedState = stored;
    this.#durableState = stored;
  }

  /** The quorum state the driver has confirmed durable. */
  get durableState(): ElectionState {
    return this.#durableState;
  }

  /** Asks for `state` to be written and fsynced, unless it is what was last asked for. */
  persist(state: ElectionState): void {
    const last = this.#requestedState;
    if (
      last.epoch === state.epoch &&
      last.votedId === state.votedId &&
      last.leaderId === state.leaderId
    ) {
      return;
    }
    this.#requestedState = state;
    const version = ++this.#requestedVersion;
    this.#pendingStates.push({ version, state });
    this.#storage.push({ kind: 'persist-quorum-state', state, version });
  }

  /** The driver confirmed quorum-state writes up to `version`: release what waited on them. */
  persisted(version: number): boolean {
    if (version <= this.#persistedVersion || version > this.#requestedVersion) return false;
    this.#persistedVersion = version;
    while ((this.#pendingStates[0]?.version ?? Number.POSITIVE_INFINITY) <= version) {
      this.#durableState = (this.#pendingStates.shift() as { state: ElectionState }).state;
    }
    const stillHeld: HeldMessage[] = [];
    for (const held of this.#held) {
      if (held.version <= version) this.#messages.push(held.envelope);
      else stillHeld.push(held);
    }
    this.#held = stillHeld;
    return true;
  }

  requestFlush(generation: number): void {
    if (this.#flushRequested) return;
    this.#flushRequested = true;
    this.#storage.push({ kind: 'flush-log', generation });
  }

  flushed(): void {
    this.#flushRequested = false;
  }

  /** Sends a request; returns the correlation id its response will carry. */
  request(destination: number, message: RaftMessage): number {
    const correlationId = this.#nextCorrelationId++;
    this.#enqueue({ source: this.#nodeId, destination, correlationId, message }, false);
    return correlationId;
  }

  /** Answers `request`; `early` skips the persistence order (only a deliberate bug does). */
  respond(request: RaftEnvelope, message: RaftMessage, early = false): void {
    const envelope = {
      source: this.#nodeId,
      destination: request.source,
      correlationId: request.correlationId,
      message,
    };
    this.#enqueue(envelope, early);
  }

  take(): RaftOutput {
    const output = { messages: this.#messages, storage: this.#storage };
    this.#messages = [];
    this.#storage = [];
    return output;
  }

  #enqueue(envelope: RaftEnvelope, early: boolean): void {
    if (early || this.#persistedVersion >= this.#requestedVersion) {
      this.#messages.push(envelope);
      return;
    }
    // Dropping is safe: the network may lose any message, and every request is retried.
    if (this.#held.length >= this.#heldMessagesMax) return;
    this.#held.push({ version: this.#requestedVersion, envelope });
  }
}
