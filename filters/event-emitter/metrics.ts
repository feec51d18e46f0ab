// The emitter's Envoy stats, defined once per configuration. Tags are encoded in the name the way
// Envoy's stats_tags expect (see docs/event-emitter.md for the regexes), e.g.
//   sidecast.emitter.rule=account-opened.events_emitted
//   sidecast.emitter.rule=account-opened.reason=bad_topic.events_dropped
import { Counter, Gauge } from "../sdk";

const PREFIX = "sidecast.emitter.";

export const enum Drop {
  /** A template value broke the topic grammar. */
  BadTopic = 0,
  /** The bounded buffer was full; the oldest event went. */
  BufferFull = 1,
  /** The bridge kept failing for retry.max_attempts attempts. */
  RetriesExhausted = 2,
  /** The bridge rejected this event (per-event result). */
  Rejected = 3,
  /** The bridge refused the whole batch with a 4xx (not retried). */
  BatchRefused = 4,
  /** The configuration was replaced while events were still waiting. */
  Shutdown = 5,
  /** The topic template reads a body field, and the body was over max_body_bytes (not kept). */
  BodyOverLimitForTemplate = 6,
}
const DROP_REASONS = ["bad_topic", "buffer_full", "retries_exhausted", "rejected", "batch_refused", "shutdown", "body_over_limit_for_template"];

export const enum Omit {
  /** The body exceeded max_body_bytes (a body truncation). */
  TooLarge = 0,
  /** The body is not JSON but the rule projects or redacts fields. */
  NotJson = 1,
  /** data.field is not in the body. */
  NoField = 2,
  /** The stream ended before the body did. */
  Incomplete = 3,
}
// Index = Omit value; too_large is reported as body_truncated.
const OMIT_REASONS = ["not_json", "no_field", "incomplete"];

export class RuleMetrics {
  matched: Counter;
  emitted: Counter;
  sampledOut: Counter;
  bodyTruncated: Counter;
  guaranteedWaits: Counter;
  guaranteedFailures: Counter;
  dropped: Array<Counter> = [];
  omitted: Array<Counter> = [];

  constructor(rule: string) {
    const p = PREFIX + "rule=" + rule + ".";
    this.matched = new Counter(p + "matched");
    this.emitted = new Counter(p + "events_emitted");
    this.sampledOut = new Counter(p + "sampled_out");
    this.bodyTruncated = new Counter(p + "body_truncated");
    this.guaranteedWaits = new Counter(p + "guaranteed_waits");
    this.guaranteedFailures = new Counter(p + "guaranteed_failures");
    for (let i = 0; i < DROP_REASONS.length; i++) this.dropped.push(new Counter(p + "reason=" + unchecked(DROP_REASONS[i]) + ".events_dropped"));
    for (let i = 0; i < OMIT_REASONS.length; i++) this.omitted.push(new Counter(p + "reason=" + unchecked(OMIT_REASONS[i]) + ".data_omitted"));
  }

  /** Matches are counted in the VM and handed to Envoy on the tick: one hostcall less per event. */
  private matchedPending: u64 = 0;

  countMatched(): void {
    this.matchedPending++;
  }

  /** Publishes what was counted in the VM since the last call. */
  publish(): void {
    if (this.matchedPending == 0) return;
    this.matched.increment(this.matchedPending);
    this.matchedPending = 0;
  }

  drop(reason: Drop, n: i32 = 1): void {
    if (n > 0) unchecked(this.dropped[reason]).increment(<u64>n);
  }

  omit(reason: Omit): void {
    if (reason == Omit.TooLarge) this.bodyTruncated.increment();
    else unchecked(this.omitted[<i32>reason - 1]).increment();
  }
}

export class EmitterMetrics {
  batches: Counter = new Counter(PREFIX + "batches_sent");
  bridgeErrors: Counter = new Counter(PREFIX + "bridge_errors");
  retries: Counter = new Counter(PREFIX + "retries");
  buffered: Gauge = new Gauge(PREFIX + "buffered_events");
  /** Requests on routes whose sidecast.io/event annotation is invalid (annotations.ts). */
  badAnnotation: Counter = new Counter(PREFIX + "bad_annotation");
  /** Plugin-config rules first (index = rule index), then route-annotation rules as routes appear. */
  rules: Array<RuleMetrics> = [];

  publish(): void {
    for (let i = 0; i < this.rules.length; i++) unchecked(this.rules[i]).publish();
  }
}
