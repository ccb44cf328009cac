/**
 * Runs one RaftReplica on a Clock, a durable log and a transport: the replica's driver contract
 * (README.md) made real.
 *
 * - Time: every entry point passes `clock.nowMs()`; one timer is armed at `nextDeadlineMs()`
 *   and re-armed after each call that may have moved it.
 * - Storage actions run one at a time in the order the replica asked for them:
 *   `persist-quorum-state` writes and fsyncs the quorum-state file, then confirms the version;
 *   `flush-log` awaits `flushDurably()`, then confirms the durable end and generation.
 * - Messages go out in the order produced. A truncation or snapshot the log has not yet made
 *   durable must not be revealed to a peer (a follower that reported a shorter log, then
 *   crashed before the truncation reached the disk, could come back longer than it claimed),
 *   so while the log has such rewrites queued, messages wait for `settled()`.
 * - Incoming messages are handed to the replica as they arrive (`deliver`).
 * A storage failure or a peer asking to truncate committed entries stops the driver and
 * reports to `onFatal`: the process must restart from its disk, not go on guessing.
 */
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { RaftEnvelope } from './messages.ts';
import type { ElectionState, RaftLog } from './raft-log.ts';
import type { RaftReplica } from './replica.ts';
import type { AppendResult, RaftOutput, StorageAction } from './replica-config.ts';

/** Messages held while a truncation or snapshot becomes durable. */
const waitingMessagesMax = 4096;

export interface RaftTransport {
  /** Best effort: the replica retries what matters, so a lost message is only a delay. */
  send(envelope: RaftEnvelope): void;
}

/** A RaftLog whose flush is asynchronous (storage-raft-log.ts). */
export interface DurableRaftLog extends RaftLog {
  flushDurably(): Promise<number>;
  readonly hasUnsettledRewrites: boolean;
  settled(): Promise<void>;
}

export interface QuorumStateWriter {
  /** Resolves once `state` is durable. */
  write(state: ElectionState): Promise<void>;
}

export interface RaftDriverOptions {
  readonly replica: RaftReplica;
  readonly log: DurableRaftLog;
  readonly stateStore: QuorumStateWriter;
  readonly transport: RaftTransport;
  readonly clock: Clock;
  readonly onFatal: (error: Error) => void;
}

export class RaftDriver {
  readonly replica: RaftReplica;
  readonly #log: DurableRaftLog;
  readonly #stateStore: QuorumStateWriter;
  readonly #transport: RaftTransport;
  readonly #clock: Clock;
  readonly #onFatal: (error: Error) => void;
  #timer: TimerHandle | undefined;
  #timerDueMs = Number.POSITIVE_INFINITY;
  #storage: Promise<void> = Promise.resolve();
  #sending: Promise<void> | undefined;
  #waitingMessages: RaftEnvelope[] = [];
  #stopped = false;

  constructor(options: RaftDriverOptions) {
    this.replica = options.replica;
    this.#log = options.log;
    this.#stateStore = options.stateStore;
    this.#transport = options.transport;
    this.#clock = options.clock;
    this.#onFatal = options.onFatal;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Sends what the replica produced at construction and arms the first poll. */
  start(): void {
    this.#afterCall();
  }

  deliver(envelope: RaftEnvelope): void {
    this.#run(() => this.replica.handle(envelope, this.#clock.nowMs()));
  }

  append(records: readonly Uint8Array[]): AppendResult | undefined {
    let result: AppendResult | undefined;
    this.#run(() => {
      result = this.replica.append(records);
    });
    return result;
  }

  resign(): boolean {
    let resigned = false;
    this.#run(() => {
      resigned = this.replica.resign(this.#clock.nowMs());
    });
    return resigned;
  }

  /** Stops timers and drops further work; resolves once running storage actions finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#storage;
  }

  #run(call: () => void): void {
    if (this.#stopped) return;
    try {
      call();
    } catch (error) {
      this.#fatal(error);
      return;
    }
    this.#afterCall();
  }

  #afterCall(): void {
    if (this.#stopped) return;
    const output: RaftOutput = this.replica.takeOutput();
    for (const action of output.storage) this.#perform(action);
    this.#send(output.messages);
    this.#arm();
  }

  #arm(): void {
    const dueMs = this.replica.nextDeadlineMs();
    if (!Number.isFinite(dueMs) || dueMs >= this.#timerDueMs) return;
    this.#timer?.cancel();
    this.#timerDueMs = dueMs;
    this.#timer = this.#clock.setTimer(dueMs - this.#clock.nowMs(), () => {
      this.#timer = undefined;
      this.#timerDueMs = Number.POSITIVE_INFINITY;
      this.#run(() => this.replica.poll(this.#clock.nowMs()));
    });
  }

  #perform(action: StorageAction): void {
    this.#storage = this.#storage.then(async () => {
      if (this.#stopped) return;
      try {
        if (action.kind === 'persist-quorum-state') {
          await this.#stateStore.write(action.state);
          this.#run(() =>
            this.replica.handleQuorumStatePersisted(action.version, this.#clock.nowMs()),
          );
        } else {
          const durableEnd = await this.#log.flushDurably();
          this.#run(() =>
            this.replica.handleLogFlushed(durableEnd, action.generation, this.#clock.nowMs()),
          );
        }
      } catch (error) {
        this.#fatal(error);
      }
    });
  }

  #send(messages: readonly RaftEnvelope[]): void {
    if (messages.length === 0) return;
    if (!this.#sending && !this.#log.hasUnsettledRewrites) {
      for (const envelope of messages) this.#transport.send(envelope);
      return;
    }
    for (const envelope of messages) {
      // Dropping is safe (the network may lose any message; requests are retried).
      if (this.#waitingMessages.length < waitingMessagesMax) this.#waitingMessages.push(envelope);
    }
    this.#sending ??= this.#sendWhenSettled();
  }

  async #sendWhenSettled(): Promise<void> {
    while (this.#waitingMessages.length > 0 && !this.#stopped) {
      await this.#log.settled();
      const batch = this.#waitingMessages;
      this.#waitingMessages = [];
      if (!this.#stopped) for (const envelope of batch) this.#transport.send(envelope);
    }
    this.#sending = undefined;
  }

  #fatal(error: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#timer?.cancel();
    this.#onFatal(error instanceof Error ? error : new Error(String(error)));
  }
}
