// One durable named consumer of the embedded broker: a read position in the shared log, the
// messages handed out and not yet acknowledged, and the members (subscribe() calls with the same
// name) that compete for them. The floor — the oldest unacknowledged position, or the read position
// when nothing is outstanding — is what gets persisted: after a restart reading resumes there, so
// anything not acknowledged is delivered again (at-least-once).

import { promises as fsp } from 'node:fs';
import { matches, parsePattern } from '../../../common/topic.js';
import type { ConsumerSpec, MessageHandler } from '../types.js';
import { decodeMessage } from '../../spool/message-codec.js';
import type { SegmentLog } from '../../spool/segment-log.js';
import type { BrokerMessage } from '../types.js';

interface Entry {
  position: number;
  message: BrokerMessage;
  deliveryCount: number;
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
  /** Told after a new floor is on disk (the broker trims the log then). */
  onPersisted: () => void;
}

export class ConsumerGroup {
  private patterns: string[][] = [];
  private readPos: number;
  /** Read and not yet acknowledged, in log order (Map keeps insertion order). */
  private readonly unacked = new Map<number, Entry>();
  private readonly ready: Entry[] = [];
  private readonly members: Member[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private reading = false;
  private persistTimer: NodeJS.Timeout | null = null;
  private persisting: Promise<void> = Promise.resolve();
  private persistedFloor: number;
  private settledWaiters: Array<() => void> = [];
  /** Handlers running now, across members (also those of members already detached). */
  private running = 0;

  constructor(
    readonly name: string,
    private readonly log: SegmentLog,
    private readonly cursorFile: string,
    floor: number,
    private readonly opts: ConsumerGroupOptions,
  ) {
    this.readPos = floor;
    this.persistedFloor = floor;
    this.opts.onPersisted();
  }

  get floor(): number {
    for (const position of this.unacked.keys()) return position;
    return this.readPos;
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

  /** Called after new records became durable. */
  pump(): void {
    for (;;) {
      const member = this.freeMember();
      if (!member) return;
      const entry = this.ready.shift();
      if (!entry) {
        this.readMore().catch(() => this.retryRead());
        return;
      }
      this.dispatch(member, entry);
    }
  }

  private freeMember(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members) {
      if (!m.closed && m.inFlight < m.maxInFlight && (!best || m.inFlight < best.inFlight)) best = m;
    }
    return best;
  }

  private async readMore(): Promise<void> {
    if (this.reading || this.readPos >= this.log.end) return;
    this.reading = true;
    try {
      const records = await this.log.read(this.readPos, 256);
      for (const r of records) {
        this.readPos = r.next;
        const message = decodeMessage(r.data);
        const levels = message.topic.split('/');
        if (!this.patterns.some((p) => matches(p, levels))) continue;
        const entry: Entry = { position: r.position, message, deliveryCount: 1 };
        this.unacked.set(r.position, entry);
        this.ready.push(entry);
      }
      if (this.unacked.size === 0) this.schedulePersist();
    } finally {
      this.reading = false;
    }
    if (this.members.length) this.pump();
  }

  /** A log read failed (I/O error): try again shortly rather than stall or crash the process. */
  private retryRead(): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.pump();
    }, this.opts.redeliveryDelayMs);
    this.timers.add(t);
  }

  private dispatch(member: Member, entry: Entry): void {
    member.inFlight++;
    this.running++;
    const { message } = entry;
    const received = { ...message, deliveryCount: entry.deliveryCount };
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
          this.schedulePersist();
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
        },
      )
      .finally(() => {
        member.inFlight--;
        this.running--;
        if (this.running === 0) for (const w of this.settledWaiters.splice(0)) w();
        this.pump();
      });
  }

  private schedulePersist(): void {
    if (this.persistTimer || this.floor === this.persistedFloor) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = null;
      // A failed write keeps the old floor on disk; the next acknowledgement tries again.
      this.persist().catch(() => undefined);
    }, 50);
  }

  /** Writes the floor with write-then-rename, so a crash leaves the old or the new cursor. */
  // Writes are chained: two overlapping write+rename pairs on one tmp file would fail with ENOENT.
  persist(force = false): Promise<void> {
    const run = this.persisting.then(async () => {
      const floor = this.floor;
      if (floor === this.persistedFloor && !force) return;
      const tmp = `${this.cursorFile}.tmp`;
      await fsp.writeFile(tmp, JSON.stringify({ name: this.name, floor }));
      await fsp.rename(tmp, this.cursorFile);
      this.persistedFloor = floor;
      this.opts.onPersisted();
    });
    this.persisting = run.catch(() => undefined);
    return run;
  }

  /** Stops redelivery timers, waits for running handlers, persists the floor. */
  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const m of this.members.splice(0)) m.closed = true;
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    if (this.running > 0) await new Promise<void>((r) => this.settledWaiters.push(r));
    await this.persist();
  }
}
