// What the delivery engine needs to know about one subscription. The xDS client turns each
// `sidecast.v1.Subscription` resource into one of these (validated, durations in ms, defaults applied).

import type { CompiledFilter } from '../filter/cel.js';

export type BackoffKind = 'exponential' | 'linear';

export interface RetrySpec {
  /** Total attempts including the first, for responses that count (5xx, 408, 429, timeouts). */
  attempts: number;
  backoff: BackoffKind;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound for an honoured Retry-After header. */
  retryAfterCapMs: number;
}

/** Opt-in batched delivery (delivery/batch.ts): one POST of up to maxEvents, after at most maxWaitMs. */
export interface BatchSpec {
  maxEvents: number;
  maxWaitMs: number;
}

export interface SubscriptionSpec {
  /** `<service>/<subscription name>`, unique across the mesh. */
  name: string;
  service: string;
  /** Topic patterns (common/topic.ts grammar). */
  topics: string[];
  url: string;
  timeoutMs: number;
  retry: RetrySpec;
  orderedByKey: boolean;
  /** Most HTTP deliveries in flight at once for this subscription. */
  concurrency: number;
  deadLetterTopic: string;
  /** Absent: one event per request (binary mode). */
  batch?: BatchSpec;
  /** Only events it matches are delivered (compiled once per subscription version). */
  filter?: CompiledFilter;
  /** The first route whose filter matches picks the URL; otherwise `url`. */
  routes?: Array<{ filter: CompiledFilter; url: string }>;
}

export const DEFAULTS = {
  timeoutMs: 5_000,
  concurrency: 16,
  retry: {
    attempts: 5,
    backoff: 'exponential',
    baseDelayMs: 200,
    maxDelayMs: 10_000,
    retryAfterCapMs: 30_000,
  } as RetrySpec,
} as const;

/** Where a subscription's undeliverable events go when the mesh config names no dead-letter topic. */
export function defaultDeadLetterTopic(name: string): string {
  return `sidecast/deadletter/${name}`;
}

/**
 * Durable consumer name shared by every bridge replica (competing consumers). Brokers restrict
 * consumer/queue names, so keep only [A-Za-z0-9_-].
 */
export function durableName(spec: Pick<SubscriptionSpec, 'name'>): string {
  return `sidecast-${spec.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function sameSpec(a: SubscriptionSpec, b: SubscriptionSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
