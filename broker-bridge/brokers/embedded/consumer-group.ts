// One durable named consumer of the embedded broker: a read position in the shared log, the
// messages read and not yet acknowledged, and the members (subscribe() calls with the same name)
// that compete for them.
//
// What is persisted (cursor-file.ts) is the read position plus every unacknowledged position with
// its delivery count, so after a restart exactly the unacknowledged events come back — an event
// acknowledged after an older one that is still pending is not delivered again. Writes are
// group-committed: at most one is in flight, and every change made meanwhile rides on the next.
// A crash therefore loses at most ACK_WRITE_DELAY_MS plus one write of acknowledgements.
//
// Honest delivery counts across a crash: an event is handed to a handler only once a durable state
// already counts that delivery (it records each pending event with deliveryCount + 1). So a crash
// can never make a delivered event come back as a first delivery; an event read ahead but never
// handed out may come back counted one too high.

import { decodeMessage } from '../../spool/message-codec.js';
import type { SegmentLog } from '../../spool/segment-log.js';
import { matches, parsePattern } from '../../../common/topic.js';
import type { BrokerMessage, ConsumerSpec, MessageHandler } from '../types.js';
import type { CursorFile, CursorState } from './cursor-file.js';

interface Entry {
  position: number;
  message: BrokerMessage;
  /** deliveryCount of its next delivery. */
  deliveryCount: number;
  /** Highest deliveryCount a durable state gives it after a restart; it may be delivered below that. */
  claimed: number;
}

interface Member {
  handler: MessageHandler;
  maxInFlight: number;
  inFlight: number;
  closed: boolean;
}

export interface ConsumerGroupOptions {
  /** First redelivery delay after a handler rejects; doubles per attempt up to 32×. */
  redeliveryDelayMs: number;
  /** Told after a new state is on disk (the broker trims the log then). */
  onPersisted: () => void;
}

/** Most events read and not acknowledged (as JetStream's max_ack_pending): bounds memory and cursor size. */
const MAX_UNACKED = 4096;
const READ_BATCH = 256;
/** Longest an acknowledgement waits before its write starts (the crash window for acks, plus one sync). */
const ACK_WRITE_DELAY_MS = 10;

export class ConsumerGroup {
  private patterns: string[][] = [];
  private readPos: number;
  /** Read and not yet acknowledged, in log order (Map keeps insertion order). */
  private readonly unacked = new Map<number, Entry>();
  private readonly ready: Entry[] = [];
  private readonly members: Member[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private reading = false;
  /** The running write loop, if any; `dirty` asks it for one more write. */
  private writing: Promise<void> | null = null;
  private dirty = false;
  private closing = false;
  private persistRetry: NodeJS.Timeout | null = null;
  private ackDelay: NodeJS.Timeout | undefined;
  /** Oldest position the durable state still needs: the log may be trimmed up to here. */
  private durableFloor: number;
  private settledWaiters: Array<() => void> = [];
  /** Handlers running now, across members (also those of members already detached). */
  private running = 0;

  private constructor(
    readonly name: string,
    private readonly log: SegmentLog,
    private readonly cursor: CursorFile,
    next: number,
    private readonly opts: ConsumerGroupOptions,
  ) {
    this.readPos = next;
    this.durableFloor = next;
  }

  /** A consumer that starts reading at `next` with nothing pending (a new name). */
  static fresh(
    name: string,
    log: SegmentLog,
    cursor: CursorFile,
    next: number,
    opts: ConsumerGroupOptions,
  ): ConsumerGroup {
    return new ConsumerGroup(name, log, cursor, next, opts);
  }

  /**
   * A consumer resumed from its durable state: pending events are read back with their counts.
   * Returns the group and how many pending events were already deleted by retention.
   */
  static async restore(
    state: CursorState,
    log: SegmentLog,
    cursor: CursorFile,
    opts: ConsumerGroupOptions,
  ): Promise<{ group: ConsumerGroup; lost: number }> {
    const group = new ConsumerGroup(state.name, log, cursor, Math.max(state.next, log.start), opts);
    let lost = 0;
    for (const [position, deliveryCount] of state.pending) {
      const [r] = position >= log.start ? await log.read(position, 1) : [];
      if (!r || r.position !== position) {
        lost++;
        continue;
      }
      const entry = { position, message: decodeMessage(r.data), deliveryCount, claimed: deliveryCount };
      group.unacked.set(position, entry);
      group.ready.push(entry);
    }
    group.durableFloor = group.floor;
    return { group, lost };
  }

  /** Oldest position still needed in memory (unacknowledged, or the read position). */
  private get floor(): number {
    for (const position of this.unacked.keys()) return position;
    return this.readPos;
  }

  /** Oldest position the state on disk still points at. */
  get persistedFloor(): number {
    return this.durableFloor;
  }

  get active(): boolean {
    return this.members.some((m) => !m.closed);
  }

  attach(spec: ConsumerSpec, handler: MessageHandler): Member {
    // The latest subscribe() decides the patterns of a durable name, as with broker-side consumers.
    this.patterns = spec.patterns.map(parsePattern);
    const member: Member = {
      handler,
      maxInFlight: Math.max(1, spec.maxInFlight),
      inFlight: 0,
      closed: false,
    };
    this.members.push(member);
    this.pump();
    return member;
  }

  detach(member: Member): void {
    member.closed = true;
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
  }

  /** Called after new records became durable, and whenever a slot or a claim frees up. */
  pump(): void {
    if (this.closing) return;
    for (;;) {
      const member = this.freeMember();
      if (!member) return;
      const entry = this.ready[0];
      if (!entry) {
        this.readMore().catch(() => this.retryLater(() => this.pump()));
        return;
      }
      if (entry.claimed <= entry.deliveryCount) {
        // This delivery is not counted on disk yet: write first, the write loop pumps again.
        this.requestPersist();
        return;
      }
      this.ready.shift();
      this.dispatch(member, entry);
    }
  }

  /**
   * Moves a consumer left behind by retention to `cut` (the new log start): events it had not
   * read or handed out below that are gone. Returns whether anything of it was skipped.
   */
  skipTo(cut: number): boolean {
    if (this.durableFloor >= cut) return false;
    this.readPos = Math.max(this.readPos, cut);
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const e = this.ready[i]!;
      if (e.position < cut) {
        this.ready.splice(i, 1);
        this.unacked.delete(e.position);
      }
    }
    this.requestPersist();
    return true;
  }

  private freeMember(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members) {
      if (!m.closed && m.inFlight < m.maxInFlight && (!best || m.inFlight < best.inFlight)) best = m;
    }
    return best;
  }

  private async readMore(): Promise<void> {
    if (this.reading || this.readPos >= this.log.end || this.unacked.size >= MAX_UNACKED) return;
    this.reading = true;
    const before = this.readPos;
    try {
      const records = await this.log.read(this.readPos, READ_BATCH);
      for (const r of records) {
        this.readPos = r.next;
        const message = decodeMessage(r.data);
        const levels = message.topic.split('/');
        if (!this.patterns.some((p) => matches(p, levels))) continue;
        const entry: Entry = { position: r.position, message, deliveryCount: 1, claimed: 0 };
        this.unacked.set(r.position, entry);
        this.ready.push(entry);
      }
    } finally {
      this.reading = false;
    }
    // Matching records wait for a claim (pump persists); skipped ones just move the position on.
    if (this.ready.length === 0 && this.readPos !== before) this.requestPersist(false);
    if (this.members.length) this.pump();
  }

  private retryLater(run: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      run();
    }, this.opts.redeliveryDelayMs);
    this.timers.add(t);
  }

  private dispatch(member: Member, entry: Entry): void {
    member.inFlight++;
    this.running++;
    const received = { ...entry.message, deliveryCount: entry.deliveryCount };
    let result: Promise<void>;
    try {
      result = Promise.resolve(member.handler(received));
    } catch (e) {
      result = Promise.reject(e);
    }
    result
      .then(
        () => {
          this.unacked.delete(entry.position);
          this.requestPersist(false);
        },
        () => {
          entry.deliveryCount++;
          const delay = this.opts.redeliveryDelayMs * 2 ** Math.min(entry.deliveryCount - 2, 5);
          const t = setTimeout(() => {
            this.timers.delete(t);
            this.ready.unshift(entry);
            this.pump();
          }, delay);
          this.timers.add(t);
          this.requestPersist(); // claim the redelivery before its timer fires
        },
      )
      .finally(() => {
        member.inFlight--;
        this.running--;
        if (this.running === 0) for (const w of this.settledWaiters.splice(0)) w();
        this.pump();
      });
  }

  /**
   * Asks for the current state to be written. Writes are group-committed (one in flight, every
   * change made meanwhile rides on the next); a write nobody waits for (acknowledgements, skipped
   * records) starts up to ACK_WRITE_DELAY_MS later, so acks at a high rate share a sync.
   */
  private requestPersist(urgent = true): void {
    this.dirty = true;
    if (this.writing || this.persistRetry) return;
    if (urgent) {
      clearTimeout(this.ackDelay);
      this.ackDelay = undefined;
      this.writing = this.writeLoop();
    } else {
      this.ackDelay ??= setTimeout(() => {
        this.ackDelay = undefined;
        if (this.dirty) this.requestPersist();
      }, ACK_WRITE_DELAY_MS);
    }
  }

  private async writeLoop(): Promise<void> {
    // Let the acknowledgements and reads of this tick join the write.
    await new Promise<void>((r) => setImmediate(r));
    while (this.dirty) {
      this.dirty = false;
      try {
        await this.writeState(false);
        if (this.members.length) this.pump(); // hand out what this write claimed, while the next one runs
      } catch {
        // The old state stays on disk and nothing new is handed out until a write succeeds.
        this.dirty = true;
        this.persistRetry = setTimeout(() => {
          this.persistRetry = null;
          this.requestPersist();
        }, this.opts.redeliveryDelayMs);
        break;
      }
    }
    this.writing = null;
  }

  /**
   * Writes the state. `exact` (only when no handler runs) records each pending event's true next
   * count; otherwise each is counted one higher, which is what lets pump() hand it out.
   */
  private async writeState(exact: boolean): Promise<void> {
    const entries = [...this.unacked.values()];
    const counts = entries.map((e) => (exact ? e.deliveryCount : e.deliveryCount + 1));
    const floor = this.floor;
    await this.cursor.write({
      name: this.name,
      next: this.readPos,
      pending: entries.map((e, i) => [e.position, counts[i]!]),
    });
    entries.forEach((e, i) => (e.claimed = Math.max(e.claimed, counts[i]!)));
    this.durableFloor = floor;
    this.opts.onPersisted();
  }

  /** Writes the state now (a new consumer's first state); rejects if the write fails. */
  flush(): Promise<void> {
    return this.writeState(false);
  }

  /** Stops redelivery timers, waits for running handlers, writes the exact state. */
  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.persistRetry) clearTimeout(this.persistRetry);
    this.persistRetry = null;
    for (const m of this.members.splice(0)) m.closed = true;
    if (this.running > 0) await new Promise<void>((r) => this.settledWaiters.push(r));
    while (this.writing) await this.writing;
    clearTimeout(this.ackDelay); // acknowledgements made while waiting go with the last write
    await this.writeState(true);
  }
}
