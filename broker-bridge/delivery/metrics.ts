// Delivery metrics, per subscription, registered on the registry the bridge exposes on /metrics.
import { Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';

export type DeadLetterCause = 'rejected' | 'exhausted' | 'poison';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class DeliveryMetrics {
  readonly delivered: Counter<'subscription'>;
  readonly retried: Counter<'subscription'>;
  readonly deadLettered: Counter<'subscription' | 'cause'>;
  /** Received from the broker → subscriber answered 2xx (retries included). */
  readonly duration: Histogram<'subscription'>;
  /** CloudEvent `time` → delivered: publish-to-delivery latency, which grows with consumer lag. */
  readonly eventAge: Histogram<'subscription'>;
  /** Age of the most recently delivered event: how far this subscription trails its producers. */
  readonly lag: Gauge<'subscription'>;
  readonly inFlight: Gauge<'subscription'>;
  /** Events the subscription's filter did not select (acknowledged, never delivered). */
  readonly filtered: Counter<'subscription' | 'result'>;

  /** Whether histograms keep exemplars: only an OpenMetrics registry can expose them. */
  readonly exemplars: boolean;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.exemplars = (registry.contentType as string) === Registry.OPENMETRICS_CONTENT_TYPE;
    this.delivered = new Counter({
      name: 'sidecast_delivery_delivered_total',
      help: 'Events delivered (2xx) per subscription',
      labelNames: ['subscription'],
      registers,
    });
    this.retried = new Counter({
      name: 'sidecast_delivery_retried_total',
      help: 'Delivery retries scheduled per subscription',
      labelNames: ['subscription'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'sidecast_delivery_dead_lettered_total',
      help: 'Events sent to the dead-letter topic (cause: rejected = 4xx, exhausted = attempts used up, poison = not a CloudEvent)',
      labelNames: ['subscription', 'cause'],
      registers,
    });
    this.duration = new Histogram({
      name: 'sidecast_delivery_duration_seconds',
      help: 'Broker receipt to 2xx, retries included',
      labelNames: ['subscription'],
      buckets: LATENCY_BUCKETS,
      registers,
      enableExemplars: this.exemplars,
    });
    this.eventAge = new Histogram({
      name: 'sidecast_delivery_event_age_seconds',
      help: 'CloudEvent time to 2xx delivery',
      labelNames: ['subscription'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.lag = new Gauge({
      name: 'sidecast_delivery_consumer_lag_seconds',
      help: 'Age of the last delivered event per subscription',
      labelNames: ['subscription'],
      registers,
    });
    this.filtered = new Counter({
      name: 'sidecast_delivery_filtered_total',
      help: 'Events the subscription filter did not select, acknowledged without delivery (result: no_match, or error = the expression failed on the event)',
      labelNames: ['subscription', 'result'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'sidecast_delivery_in_flight',
      help: 'Events taken from the broker and not yet settled',
      labelNames: ['subscription'],
      registers,
    });
  }
}

// prom-client types exemplar labels as the metric's own label names; exemplars use their own.
const exemplarOf = (ctx: { traceId: string; spanId: string }) =>
  ({ trace_id: ctx.traceId, span_id: ctx.spanId }) as unknown as LabelValues<'subscription'>;

/** One subscription's series, bound once: the per-event path does no label hashing. */
export function subscriptionSeries(m: DeliveryMetrics, subscription: string) {
  const l = { subscription };
  return {
    /** Tracing on: the observation carries the delivery's trace as an exemplar (OpenMetrics). */
    durationWithTrace: (value: number, ctx: { traceId: string; spanId: string }) =>
      m.exemplars
        ? m.duration.observe({ labels: l, value, exemplarLabels: exemplarOf(ctx) })
        : m.duration.observe(l, value),
    delivered: m.delivered.labels(l),
    retried: m.retried.labels(l),
    deadLettered: (cause: DeadLetterCause) => m.deadLettered.inc({ subscription, cause }),
    duration: m.duration.labels(l),
    eventAge: m.eventAge.labels(l),
    lag: m.lag.labels(l),
    inFlight: m.inFlight.labels(l),
    filteredOut: m.filtered.labels({ subscription, result: 'no_match' }),
    filterErrors: m.filtered.labels({ subscription, result: 'error' }),
  };
}
export type SubscriptionSeries = ReturnType<typeof subscriptionSeries>;
