// The publish pipeline: validated events → broker, or → spool while the broker is away.
//
// Order. The guarantee is causal per producer: events of one request keep their order, and a
// request sent after another was acknowledged lands after it. Submissions join one queue in arrival
// order; up to `maxInFlightBatches` broker publishes run at once, each taking everything queued (up
// to `maxBatch` events), and adapters keep the order of their publish calls. Batches in flight
// together hold only requests that were in flight together, which have no order between them, so a
// failed one may be replayed after a later one that succeeded. While the spool holds anything, new
// events go behind it (into the spool too); a replay loop feeds the spool to the broker with
// backoff, and direct publishing resumes once the spool is empty. An adapter that reports its
// reconnects (BrokerAdapter.onReconnect) wakes the loop at once: the drain starts when the broker is
// back, not when the backoff timer (up to backoffMaxMs) next fires.
//
// Acknowledgement: a submission resolves only after the broker acknowledged its events or the spool
// fsync'd them. Events the broker cannot carry (UnrepresentableTopicError) are rejected one by one.

import {
  BrokerUnavailableError,
  UnrepresentableTopicError,
  type BrokerAdapter,
  type BrokerMessage,
} from '../brokers/types.js';
import type { BridgeMetrics } from '../admin/metrics.js';
import { SpoolFullError, type Spool } from '../spool/spool.js';
import { IngestRequestError } from '../validate/request-errors.js';

export interface PublisherOptions {
  /** Most events per broker publish call (coalesced across submissions). */
  maxBatch: number;
  /** Broker publish calls in flight at once; 1 = strictly one after another. */
  maxInFlightBatches: number;
  /** Events per replay step from the spool. */
  replayBatch: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Retry-After (seconds) told to producers when the spool is full. */
  retryAfterSeconds: number;
}

export const DEFAULT_PUBLISHER_OPTIONS: PublisherOptions = {
  maxBatch: 1024,
  maxInFlightBatches: 4,
  replayBatch: 256,
  backoffInitialMs: 100,
  backoffMaxMs: 5000,
  retryAfterSeconds: 5,
};

/** null = accepted (durably held); a string = rejected with that reason. */
export type Outcome = string | null;

interface Job {
  messages: BrokerMessage[];
  resolve: (o: Outcome[]) => void;
  reject: (e: unknown) => void;
}

export interface PublisherLog {
  info?(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What ended a replay backoff wait: its timer, or a nudge (the broker reconnected, or a stop). */
type Wake = 'timer' | 'kick';

export class Publisher {
  private readonly queue: Job[] = [];
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private replaying: Promise<void> | null = null;
  private closing = false;
  private wakeReplay: (() => void) | null = null;
  /** A kick() that came while the replay loop was not waiting: its next wait returns at once. */
  private kicked = false;
  private readonly opts: PublisherOptions;

  constructor(
    private readonly broker: BrokerAdapter,
    private readonly spool: Spool,
    private readonly metrics: BridgeMetrics,
    private readonly log: PublisherLog,
    opts: Partial<PublisherOptions> = {},
  ) {
    this.opts = { ...DEFAULT_PUBLISHER_OPTIONS, ...opts };
    broker.onReconnect?.(() => this.kick());
  }

  /** Starts replaying whatever a previous run left in the spool. */
  start(): void {
    if (this.spool.depth > 0) this.ensureReplay();
  }

  /** Resolves with one outcome per message once they are durably held; rejects 503 when they cannot be. */
  submit(messages: BrokerMessage[]): Promise<Outcome[]> {
    if (this.closing)
      return Promise.reject(
        new IngestRequestError(503, 'bridge is shutting down; retry against another replica or later', 1),
      );
    if (messages.length === 0) return Promise.resolve([]);
    return new Promise<Outcome[]>((resolve, reject) => {
      this.queue.push({ messages, resolve, reject });
      this.dispatch();
    });
  }

  /** Starts broker publishes for what is queued, as far as the in-flight limit allows. */
  private dispatch(): void {
    while (this.queue.length > 0 && this.inFlight < this.opts.maxInFlightBatches) {
      if (this.spool.depth > 0 || !this.broker.isConnected()) {
        this.toSpool(this.queue.splice(0));
        break;
      }
      const jobs = this.takeBatch();
      this.inFlight++;
      void this.publishJobs(jobs).finally(() => {
        this.inFlight--;
        this.dispatch();
        if (this.inFlight === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async publishJobs(jobs: Job[]): Promise<void> {
    const messages = jobs.flatMap((j) => j.messages);
    try {
      const rejected = await this.publishAll(messages, 'direct');
      let at = 0;
      for (const j of jobs) {
        j.resolve(j.messages.map((_, i) => rejected.get(at + i) ?? null));
        at += j.messages.length;
      }
    } catch (e) {
      // Spooled now, synchronously, so everything submitted after this point goes behind it.
      this.log.warn(
        { err: (e as Error).message, events: messages.length },
        'broker publish failed; spooling',
      );
      this.toSpool(jobs);
    }
  }

  private takeBatch(): Job[] {
    const jobs: Job[] = [];
    let n = 0;
    while (
      this.queue.length > 0 &&
      (jobs.length === 0 || n + this.queue[0]!.messages.length <= this.opts.maxBatch)
    ) {
      const j = this.queue.shift()!;
      jobs.push(j);
      n += j.messages.length;
    }
    return jobs;
  }

  /**
   * Publishes `messages`, dropping those whose topic the broker cannot carry and retrying the rest.
   * Returns the rejected ones by index. Throws when the broker is unavailable.
   */
  private async publishAll(
    messages: BrokerMessage[],
    path: 'direct' | 'replay',
  ): Promise<Map<number, string>> {
    const rejected = new Map<number, string>();
    let live = messages.map((m, i) => ({ m, i }));
    while (live.length > 0) {
      const stop = this.metrics.publishLatency.startTimer();
      try {
        await this.broker.publish(live.map((x) => x.m));
        stop();
        this.metrics.published.inc({ path }, live.length);
        return rejected;
      } catch (e) {
        if (!(e instanceof UnrepresentableTopicError)) throw e;
        const bad = live.filter((x) => x.m.topic === e.topic);
        // An unrepresentable topic we did not send cannot be told apart from a broker fault.
        if (bad.length === 0) throw new BrokerUnavailableError(this.broker.kind, e.message, { cause: e });
        for (const x of bad) {
          rejected.set(x.i, e.message);
          this.metrics.rejected.inc({ reason: 'unrepresentable' });
        }
        live = live.filter((x) => x.m.topic !== e.topic);
      }
    }
    return rejected;
  }

  private toSpool(jobs: Job[]): void {
    if (jobs.length === 0) return;
    const messages = jobs.flatMap((j) => j.messages);
    this.spool.append(messages, this.opts.retryAfterSeconds).then(
      () => {
        this.metrics.spooled.inc(messages.length);
        for (const j of jobs) j.resolve(j.messages.map(() => null));
      },
      (e: unknown) => {
        const err =
          e instanceof SpoolFullError
            ? new IngestRequestError(503, e.message, e.retryAfterSeconds)
            : new IngestRequestError(
                503,
                `broker unreachable and spool write failed: ${(e as Error).message}`,
                this.opts.retryAfterSeconds,
              );
        for (const j of jobs) j.reject(err);
      },
    );
    this.ensureReplay();
  }

  private ensureReplay(): void {
    this.replaying ??= this.replay().finally(() => (this.replaying = null));
  }

  private async replay(): Promise<void> {
    let delay = this.opts.backoffInitialMs;
    let failedSince: number | null = null; // when the current run of failed attempts began
    let wake: Wake = 'timer';
    this.kicked = false;
    while (!this.closing && this.spool.depth > 0) {
      const attemptStart = performance.now();
      try {
        // Checked before reading the spool: an attempt that began while the broker was away must
        // not publish after it returned, or the drain would start on this timer instead of on
        // the reconnect that (re)wakes the loop.
        if (!this.broker.isConnected())
          throw new BrokerUnavailableError(this.broker.kind, 'not connected; waiting to replay the spool');
        const batch = await this.spool.peek(this.opts.replayBatch);
        if (batch.messages.length === 0) {
          await new Promise((r) => setTimeout(r, 1)); // the newest appends are still being synced
          continue;
        }
        const dropped = await this.publishAll(batch.messages, 'replay');
        for (const [i, reason] of dropped) {
          // Already acknowledged to its producer, so it cannot be rejected any more: count and log it.
          this.metrics.spoolDropped.inc();
          this.log.warn(
            { id: batch.messages[i]!.id, topic: batch.messages[i]!.topic, reason },
            'spooled event refused by broker; dropped',
          );
        }
        await this.spool.commit(batch);
        if (failedSince !== null) {
          // `trigger` says what started this drain: 'reconnect' (the adapter reported the broker
          // back) or 'timer' (the backoff ran out, e.g. an adapter without onReconnect);
          // `firstBatchMs` is how long the first replayed batch took (read, publish, commit), to the µs
          // (rounding to ms could place the drain's start before the reconnect that caused it).
          this.log.info?.(
            {
              trigger: wake === 'kick' ? 'reconnect' : 'timer',
              firstBatchMs: Math.round((performance.now() - attemptStart) * 1000) / 1000,
              failingForMs: Date.now() - failedSince,
              spoolDepth: this.spool.depth,
            },
            'spool replay resumed',
          );
          failedSince = null;
        }
        delay = this.opts.backoffInitialMs;
      } catch (e) {
        failedSince ??= Date.now();
        this.log.warn(
          { err: (e as Error).message, spoolDepth: this.spool.depth, retryInMs: delay },
          'spool replay failed',
        );
        wake = await this.sleep(delay);
        delay = Math.min(delay * 2, this.opts.backoffMaxMs);
      }
    }
  }

  private sleep(ms: number): Promise<Wake> {
    if (this.kicked) {
      this.kicked = false;
      return Promise.resolve('kick');
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => done('timer'), ms);
      const done = (how: Wake): void => {
        clearTimeout(t);
        if (this.wakeReplay === kick) this.wakeReplay = null;
        resolve(how);
      };
      const kick = (): void => done('kick');
      this.wakeReplay = kick;
    });
  }

  /** Nudges a backing-off replay loop (e.g. after the broker reconnected). */
  kick(): void {
    if (this.wakeReplay) this.wakeReplay();
    else if (this.replaying) this.kicked = true;
  }

  /**
   * Graceful stop: refuses new submissions, finishes queued and in-flight publishes (what fails is
   * spooled), stops replay after its current step. The spool keeps the rest for the next start.
   */
  async drain(): Promise<void> {
    this.closing = true;
    if (this.inFlight > 0 || this.queue.length > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.kick();
    while (this.replaying) await this.replaying;
  }
}
