// Async delivery, owned by the root context (one per configuration and worker VM): a bounded
// queue of serialized events that is flushed as application/cloudevents-batch+json to the bridge
// cluster with http_call — when a batch is full (count or bytes) or on the tick — one batch in
// flight at a time, retried with exponential backoff. When the queue is full the oldest event is
// dropped (counted). Stream contexts hand events over by calling enqueue() (same VM, no locks).
import { Context, HeaderPair, LogLevel, done, getCurrentTimeNanoseconds, log } from "../sdk";
import { ByteBuf } from "./bytes";
import { EmitterConfig } from "./config";
import { IdSource } from "./ids";
import { callStatus, ReplyCursor, Result, retryAfterSeconds } from "./ingest-reply";
import { Drop, EmitterMetrics } from "./metrics";

export const BATCH_CONTENT_TYPE = "application/cloudevents-batch+json";

/** The http_call headers for the bridge (bridge.path, authority, token). */
export function bridgeHeaders(cfg: EmitterConfig): Array<HeaderPair> {
  const h: Array<HeaderPair> = [
    new HeaderPair(":method", "POST"),
    new HeaderPair(":path", cfg.bridgePath),
    new HeaderPair(":authority", cfg.authority),
    new HeaderPair("content-type", BATCH_CONTENT_TYPE),
  ];
  if (cfg.token.length) h.push(new HeaderPair("authorization", "Bearer " + cfg.token));
  return h;
}

export function nowMs(): u64 {
  return getCurrentTimeNanoseconds() / 1000000;
}

export class Delivery {
  private events: StaticArray<ArrayBuffer | null>;
  private ruleOf: StaticArray<i32>;
  private head: i32 = 0;
  private count: i32 = 0;
  private bytes: i64 = 0;

  // The batch in flight (taken off the queue; kept for retries).
  private token: u32 = 0;
  private inflight: bool = false;
  private batchBody: ArrayBuffer | null = null;
  private batchRules: Array<i32> = [];
  private attempt: i32 = 0;
  private notBefore: u64 = 0;
  private draining: bool = false;

  private buf: ByteBuf = new ByteBuf(4096);
  private headers: Array<HeaderPair>;

  constructor(private owner: Context, private cfg: EmitterConfig, private metrics: EmitterMetrics, private random: IdSource) {
    this.events = new StaticArray<ArrayBuffer | null>(cfg.maxBufferedEvents);
    this.ruleOf = new StaticArray<i32>(cfg.maxBufferedEvents);
    this.headers = bridgeHeaders(cfg);
    this.perRule = new StaticArray<i32>(cfg.rules.length);
  }

  /** Scratch: events of the current batch per rule, so each counter moves once per batch. */
  private perRule: StaticArray<i32>;


  /** Events waiting or in flight. */
  get depth(): i32 {
    return this.count + this.batchRules.length;
  }

  private updateDepth(): void {
    this.metrics.buffered.set(<u64>this.depth);
  }

  enqueue(event: ArrayBuffer, rule: i32): void {
    const cap = this.events.length;
    if (this.count == cap) {
      // Full: the oldest event goes (newer events describe the more recent state).
      const old = unchecked(this.events[this.head]);
      if (old !== null) this.bytes -= old.byteLength;
      unchecked(this.metrics.rules[unchecked(this.ruleOf[this.head])]).drop(Drop.BufferFull);
      unchecked((this.events[this.head] = null));
      this.head = (this.head + 1) % cap;
      this.count--;
    }
    const at = (this.head + this.count) % cap;
    unchecked((this.events[at] = event));
    unchecked((this.ruleOf[at] = rule));
    this.count++;
    this.bytes += event.byteLength;
    // The depth gauge moves when batches go and come back (and on the tick), not per event.
    if (this.full()) this.flush(nowMs());
  }

  /** A whole batch is waiting: worth sending before the tick. */
  private full(): bool {
    return this.count >= this.cfg.maxEvents || this.bytes >= <i64>this.cfg.maxBytes;
  }

  /** Tick: send what is waiting (the flush interval is the tick period). */
  tick(): void {
    this.pump(nowMs());
    this.updateDepth();
  }

  /** Sends the next batch; while draining, keeps going until one is in flight or all are gone. */
  private pump(now: u64, onlyFull: bool = false): void {
    if (!this.draining) {
      if (!onlyFull || this.full()) this.flush(now);
      return;
    }
    while (!this.inflight && this.depth > 0) this.flush(now);
  }

  /** Sends the next batch unless one is in flight or a retry is not due yet. */
  private flush(now: u64): void {
    if (this.inflight || now < this.notBefore) return;
    if (this.batchBody === null && !this.takeBatch()) {
      this.updateDepth();
      return;
    }
    const r = this.owner.httpCall(this.cfg.cluster, this.headers, this.batchBody, [], this.cfg.timeoutMs);
    this.updateDepth();
    if (!r.ok) {
      // e.g. BadArgument: the cluster does not exist on this Envoy (yet).
      if (log.enabled(LogLevel.Error)) log.error("sidecast event-emitter: http_call to cluster \"" + this.cfg.cluster + "\" failed with status " + (<i32>r.status).toString() + "; check bridge.cluster");
      this.failed(now, true);
      return;
    }
    this.token = r.value;
    this.inflight = true;
    this.metrics.batches.increment();
  }

  /** Moves up to max_events / max_bytes (at least one event) from the queue into a batch body. */
  private takeBatch(): bool {
    if (this.count == 0) return false;
    const b = this.buf;
    b.reset();
    b.byte(0x5b);
    const cap = this.events.length;
    const rules = this.batchRules;
    rules.length = 0;
    while (this.count > 0 && rules.length < this.cfg.maxEvents) {
      const ev = unchecked(this.events[this.head]);
      const size = ev === null ? 0 : ev.byteLength;
      if (rules.length > 0 && b.len + size + 2 > this.cfg.maxBytes) break;
      if (ev !== null) {
        if (rules.length > 0) b.byte(0x2c);
        b.bytes(ev);
      }
      rules.push(unchecked(this.ruleOf[this.head]));
      unchecked((this.events[this.head] = null));
      this.head = (this.head + 1) % cap;
      this.count--;
      this.bytes -= size;
    }
    b.byte(0x5d);
    this.batchBody = b.toBytes();
    this.attempt = 0;
    return true;
  }

  /** The bridge answered (or the call failed: numHeaders 0). */
  onResponse(token: u32, numHeaders: u32, bodySize: u32): bool {
    if (!this.inflight || token != this.token) return false;
    this.inflight = false;
    const now = nowMs();
    const status = numHeaders == 0 ? 0 : callStatus();
    if (status >= 200 && status < 300) this.accepted(bodySize, false); // 200, or 207 with some rejected
    else if (status == 0 || status == 429 || status >= 500) this.failed(now, true, status == 0 ? -1 : retryAfterSeconds());
    // Other 4xx: every event rejected (per-event results) or the whole request refused (none).
    else if (!this.accepted(bodySize, true)) this.failed(now, false);
    this.pump(now, true); // a partial batch waits for the tick
    if (this.draining && this.depth == 0) done();
    return true;
  }

  /** Settles the batch by its per-event results; false (nothing done) when `needResults` and there are none. */
  private accepted(bodySize: u32, needResults: bool): bool {
    const rules = this.batchRules;
    const cursor = new ReplyCursor();
    const hasResults = cursor.open(bodySize);
    if (!hasResults && needResults) return false;
    if (hasResults) {
      // Rejected events are few: count them one by one, the accepted ones per rule.
      for (let i = 0; i < rules.length; i++) {
        if (cursor.next() == Result.Rejected) {
          unchecked(this.metrics.rules[unchecked(rules[i])]).drop(Drop.Rejected);
          unchecked((rules[i] = -1));
        }
      }
    }
    const per = this.tallyAccepted(rules);
    for (let r = 0; r < per.length; r++) if (unchecked(per[r]) > 0) unchecked(this.metrics.rules[r]).emitted.increment(<u64>unchecked(per[r]));
    this.finishBatch();
    return true;
  }

  /** Events of the batch per rule (entries set to -1 are skipped). */
  private tallyAccepted(rules: Array<i32>): StaticArray<i32> {
    let per = this.perRule;
    // Route-annotation rules add metrics slots after configure.
    if (per.length < this.metrics.rules.length) this.perRule = per = new StaticArray<i32>(this.metrics.rules.length);
    for (let i = 0; i < per.length; i++) unchecked((per[i] = 0));
    for (let i = 0; i < rules.length; i++) {
      const r = unchecked(rules[i]);
      if (r >= 0) unchecked((per[r] = per[r] + 1));
    }
    return per;
  }

  /** `retryAfter`: the bridge's Retry-After in seconds (-1 none); it may lengthen, never shorten, the backoff. */
  private failed(now: u64, retriable: bool, retryAfter: i32 = -1): void {
    this.metrics.bridgeErrors.increment();
    this.attempt++;
    if (retriable && !this.draining && this.attempt < this.cfg.maxAttempts) {
      this.metrics.retries.increment();
      // Exponential backoff with jitter in [50%, 100%] so that workers do not retry in lockstep.
      let delay = <f64>this.cfg.baseDelayMs * Math.pow(2, <f64>(this.attempt - 1));
      if (delay > <f64>this.cfg.maxDelayMs) delay = <f64>this.cfg.maxDelayMs;
      delay *= 0.5 + 0.5 * this.random.fraction();
      // The bridge knows when its spool frees up; max_delay_ms still caps the wait.
      const asked = <f64>retryAfter * 1000;
      if (asked > delay) delay = asked < <f64>this.cfg.maxDelayMs ? asked : <f64>this.cfg.maxDelayMs;
      this.notBefore = now + <u64>delay;
      return;
    }
    const reason = !retriable ? Drop.BatchRefused : this.draining ? Drop.Shutdown : Drop.RetriesExhausted;
    const per = this.tallyAccepted(this.batchRules);
    for (let r = 0; r < per.length; r++) unchecked(this.metrics.rules[r]).drop(reason, unchecked(per[r]));
    this.finishBatch();
  }

  private finishBatch(): void {
    this.batchBody = null;
    this.batchRules.length = 0;
    this.attempt = 0;
    this.notBefore = 0;
    this.updateDepth();
  }

  /**
   * The configuration is being replaced: send what is left without further retries. Returns true
   * when nothing is pending (the root may go now), else false and calls done() when finished.
   */
  drain(): bool {
    this.draining = true;
    this.notBefore = 0;
    this.pump(nowMs());
    return this.depth == 0;
  }
}
