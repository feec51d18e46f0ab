// Opt-in batched delivery (Subscription `delivery.batch`): up to maxEvents events per POST as
// `application/cloudevents-batch+json` (CloudEvents HTTP binding §3.3: a JSON array of structured
// events), sent when maxEvents are ready or the oldest ready one waited maxWait — what Dapr calls bulk
// subscribe. The subscriber answers per event, and each event gets its own fate:
//   2xx with `{"statuses":[{"id":"<ce id>","status":"SUCCESS"|"RETRY"|"DROP"}, …]}` — SUCCESS done,
//       RETRY retried with backoff (its own attempts, then dead-lettered), DROP dead-lettered at once;
//       an event the answer leaves out is retried; a 2xx without `statuses` delivers every event;
//   5xx / 408 / 429 / timeout — every event of the batch retried (Retry-After honoured);
//   any other status — every event dead-lettered (not retryable);
//   no answer (refused, reset) — every event held, no attempt used up (as for single deliveries).
// Ordering by key: a batch carries events of one key in publish order and a key is in one batch at a
// time; once an event of a key must be retried, the later events of that key in the same batch are
// redelivered after it (whatever the subscriber said of them), so a subscriber that stops a key at its
// first failure sees every key in order.
import { backoffDelay } from './backoff.js';
import { postOnce, type AttemptResult, type SubscriberPool } from './http-post.js';
import { describe, retryable, type Outcome } from './retry-loop.js';
import type { BatchSpec, RetrySpec } from './spec.js';

export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';
/** Largest subscriber answer read for per-event statuses (~100 bytes per event at 1000 events). */
const MAX_ANSWER_BYTES = 1 << 20;

export type EventStatus = 'SUCCESS' | 'RETRY' | 'DROP';

export interface BatchItem {
  id: string;
  /** Ordering key (partitionkey), when the subscription orders by key. */
  key?: string;
  /** The structured CloudEvent JSON as stored on the broker. */
  body: Uint8Array;
}

export interface BatcherContext {
  url: URL;
  timeoutMs: number;
  retry: RetrySpec;
  batch: BatchSpec;
  /** Most batches in flight at once. */
  concurrency: number;
  orderedByKey: boolean;
  pool: SubscriberPool;
  signal: AbortSignal;
  /** A batch (`events` of them) will be sent again after `delayMs`. */
  onRetry(r: AttemptResult, events: number, delayMs: number): void;
}

interface Entry extends BatchItem {
  seq: number;
  attempts: number;
  outages: number;
  resolve(o: Outcome): void;
  reject(e: unknown): void;
}

/** Per-event statuses from a 2xx answer; undefined = none given (all delivered). Throws on a malformed answer. */
export function batchStatuses(answer: string): Map<string, EventStatus> | undefined {
  if (!answer.trim()) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    return undefined; // a plain-text "ok": nothing per event
  }
  if (typeof parsed !== 'object' || parsed === null || !('statuses' in parsed)) return undefined;
  const list = (parsed as { statuses: unknown }).statuses;
  if (!Array.isArray(list)) throw new Error('"statuses" is not an array');
  const out = new Map<string, EventStatus>();
  for (const [i, s] of list.entries()) {
    const { id, status } = (s ?? {}) as { id?: unknown; status?: unknown };
    if (typeof id !== 'string' || (status !== 'SUCCESS' && status !== 'RETRY' && status !== 'DROP'))
      throw new Error(`statuses[${i}] needs "id" (string) and "status" SUCCESS|RETRY|DROP`);
    out.set(id, status);
  }
  return out;
}

/** What one event of a settled batch needs next. */
type Verdict = { kind: 'done'; outcome: Outcome } | { kind: 'again'; delayMs: number };

const rejected = (e: { attempts: number }, status: number, reason: string): Verdict => ({
  kind: 'done',
  outcome: { kind: 'dead-letter', cause: 'rejected', attempts: e.attempts + 1, status, reason },
});

export class Batcher {
  private ready: Entry[] = [];
  private readySince = 0;
  private active = 0;
  private seq = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Ordered mode: keys with events in flight or backing off → their later events, in publish order. */
  private readonly held = new Map<string, Entry[]>();
  private readonly backoffTimers = new Set<NodeJS.Timeout>();
  private readonly waiting = new Set<Entry>();

  constructor(private readonly ctx: BatcherContext) {
    ctx.signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Resolves with the event's outcome (delivered or to be dead-lettered); rejects when stopped. */
  add(item: BatchItem): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      if (this.ctx.signal.aborted) return reject(this.ctx.signal.reason);
      const e: Entry = { ...item, seq: this.seq++, attempts: 0, outages: 0, resolve, reject };
      this.waiting.add(e);
      const held = this.key(e) === undefined ? undefined : this.held.get(e.key!);
      if (held) held.push(e);
      else this.pushReady([e]);
      this.pump();
    });
  }

  private key(e: Entry): string | undefined {
    return this.ctx.orderedByKey ? e.key : undefined;
  }

  private pushReady(entries: Entry[]): void {
    if (!entries.length) return;
    if (!this.ready.length) this.readySince = performance.now();
    this.ready.push(...entries);
  }

  private pump(): void {
    if (this.ctx.signal.aborted) return;
    const { maxEvents, maxWaitMs } = this.ctx.batch;
    while (this.active < this.ctx.concurrency && this.ready.length) {
      if (this.ready.length < maxEvents && performance.now() < this.readySince + maxWaitMs) break;
      const batch = this.take(maxEvents);
      if (batch.length) this.send(batch);
    }
    if (this.ready.length && this.active < this.ctx.concurrency && !this.flushTimer) {
      const wait = Math.max(0, this.readySince + maxWaitMs - performance.now());
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.pump();
      }, wait);
    }
  }

  /** The next batch, in publish order; in ordered mode a key already in flight is held back. */
  private take(max: number): Entry[] {
    const batch: Entry[] = [];
    const keysHere = new Set<string>();
    let i = 0;
    for (; i < this.ready.length && batch.length < max; i++) {
      const e = this.ready[i]!;
      const key = this.key(e);
      if (key === undefined) {
        batch.push(e);
        continue;
      }
      const held = this.held.get(key);
      if (!held) {
        this.held.set(key, []); // the key is now in flight
        keysHere.add(key);
        batch.push(e);
      } else if (keysHere.has(key))
        batch.push(e); // same key, same batch, in publish order
      else insertBySeq(held, e);
    }
    this.ready = this.ready.slice(i);
    if (this.ready.length) this.readySince = performance.now();
    return batch;
  }

  private send(batch: Entry[]): void {
    this.active++;
    const parts: Uint8Array[] = [LEFT];
    for (const [i, e] of batch.entries()) {
      if (i) parts.push(COMMA);
      parts.push(e.body);
    }
    parts.push(RIGHT);
    postOnce(
      this.ctx.pool,
      this.ctx.url,
      { 'content-type': BATCH_CONTENT_TYPE },
      Buffer.concat(parts),
      this.ctx.timeoutMs,
      this.ctx.signal,
      MAX_ANSWER_BYTES,
    )
      .then(
        (r) => this.settle(batch, r),
        (err: unknown) => {
          for (const e of batch) this.fail(e, err);
        },
      )
      .finally(() => {
        this.active--;
        this.pump();
      });
  }

  private settle(batch: Entry[], r: AttemptResult): void {
    const verdict = this.judge(batch.length, r);
    const again = new Map<number, Entry[]>();
    // Ordered keys: from the first event of a key that goes again, the rest of that key goes again too.
    const redoKeys = new Map<string, number>();
    let retried = 0;
    for (const e of batch) {
      const key = this.key(e);
      const redoDelay = key === undefined ? undefined : redoKeys.get(key);
      // Behind a redone event of its key, an event goes again whatever was said of it (no attempt used).
      const v: Verdict = redoDelay !== undefined ? { kind: 'again', delayMs: redoDelay } : verdict(e);
      if (v.kind === 'done') {
        this.waiting.delete(e);
        e.resolve(v.outcome);
        continue;
      }
      retried++;
      if (key !== undefined && redoDelay === undefined) redoKeys.set(key, v.delayMs);
      const delay = redoDelay ?? v.delayMs;
      if (key === undefined) {
        const list = again.get(delay) ?? [];
        list.push(e);
        again.set(delay, list);
      } else insertBySeq(this.held.get(key)!, e);
    }
    if (retried) this.ctx.onRetry(r, retried, Math.max(...redoKeys.values(), ...again.keys()));
    for (const [delay, entries] of again) this.later(delay, () => this.pushReady(entries));
    // Keys of this batch: released now, or after their first redone event's backoff.
    for (const key of new Set(batch.map((e) => this.key(e)))) {
      if (key === undefined) continue;
      const delay = redoKeys.get(key);
      if (delay === undefined) this.release(key);
      else this.later(delay, () => this.release(key));
    }
  }

  /** How the answer `r` to a batch of `size` events judges each of them. */
  private judge(size: number, r: AttemptResult): (e: Entry) => Verdict {
    const { retry, url } = this.ctx;
    const retryEvent = (e: Entry, why: string, status: number, retryAfterMs?: number): Verdict => {
      e.attempts++;
      if (e.attempts >= retry.attempts)
        return {
          kind: 'done',
          outcome: {
            kind: 'dead-letter',
            cause: 'exhausted',
            attempts: e.attempts,
            status,
            reason: `${url.href}: ${e.attempts} attempts failed, last: ${why}`,
          },
        };
      const delayMs =
        retryAfterMs !== undefined
          ? Math.min(retryAfterMs, retry.retryAfterCapMs)
          : backoffDelay(retry, e.attempts);
      return { kind: 'again', delayMs };
    };
    if (r.kind === 'unreachable')
      return (e) => ({ kind: 'again', delayMs: backoffDelay(retry, ++e.outages) });
    if (r.kind === 'timeout') return (e) => retryEvent(e, describe(r), 0);
    if (r.status < 200 || r.status >= 300) {
      if (retryable(r.status)) return (e) => retryEvent(e, describe(r), r.status, r.retryAfterMs);
      return (e) =>
        rejected(e, r.status, `${url.href} answered ${describe(r)} to a batch of ${size} (not retryable)`);
    }
    let statuses: Map<string, EventStatus> | undefined;
    try {
      statuses = batchStatuses(r.body ?? '');
    } catch (e) {
      const why = `HTTP ${r.status} with an unreadable batch answer: ${(e as Error).message}`;
      return (e) => retryEvent(e, why, r.status);
    }
    return (e) => {
      const s = statuses ? (statuses.get(e.id) ?? 'RETRY') : 'SUCCESS';
      if (s === 'SUCCESS')
        return { kind: 'done', outcome: { kind: 'delivered', attempts: e.attempts + 1, status: r.status } };
      if (s === 'DROP')
        return rejected(
          e,
          r.status,
          `${url.href} answered DROP for this event in a batch (HTTP ${r.status})`,
        );
      const why = statuses!.has(e.id)
        ? `RETRY in a batch answer (HTTP ${r.status})`
        : `left out of a batch answer (HTTP ${r.status})`;
      return retryEvent(e, why, r.status);
    };
  }

  /** A key's batch settled (or its backoff elapsed): what was held behind it is ready again. */
  private release(key: string): void {
    const held = this.held.get(key);
    this.held.delete(key);
    if (held?.length) this.pushReady(held);
    this.pump();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.backoffTimers.delete(t);
      fn();
      this.pump();
    }, ms);
    this.backoffTimers.add(t);
  }

  private fail(e: Entry, err: unknown): void {
    this.waiting.delete(e);
    e.reject(err);
  }

  /** Hands every unsettled event back (the handler rejects, the broker redelivers it later). */
  private stop(): void {
    clearTimeout(this.flushTimer);
    for (const t of this.backoffTimers) clearTimeout(t);
    this.backoffTimers.clear();
    for (const e of [...this.waiting]) this.fail(e, this.ctx.signal.reason);
    this.ready = [];
    this.held.clear();
  }
}

const LEFT = Buffer.from('[');
const COMMA = Buffer.from(',');
const RIGHT = Buffer.from(']');

function insertBySeq(list: Entry[], e: Entry): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > e.seq) i--;
  list.splice(i, 0, e);
}
