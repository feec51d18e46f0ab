// One subscription at work: a durable consumer on the broker and the delivery of what it hands us.
import { setMaxListeners } from 'node:events';
import type { BrokerAdapter, Consumer, ReceivedMessage } from '../brokers/types.js';
import { Batcher } from './batch.js';
import {
  PoisonEventError,
  parseStructured,
  toBinaryRequest,
  type StructuredEvent,
} from './cloudevent-http.js';
import { deadLetterMessage } from './dead-letter.js';
import { poolFor, type SubscriberPool } from './http-post.js';
import { KeyedSerializer, Semaphore } from './limits.js';
import {
  subscriptionSeries,
  type DeadLetterCause,
  type DeliveryMetrics,
  type SubscriptionSeries,
} from './metrics.js';
import { deliverWithRetry, type Outcome } from './retry-loop.js';
import { durableName, type SubscriptionSpec } from './spec.js';
import { endWithError, failSpan, type BridgeTracing } from '../tracing/spans.js';
import type { Span } from '@opentelemetry/api';
import type { CompiledFilter } from '../filter/cel.js';

type DeadLetterOutcome = { cause: DeadLetterCause; attempts: number; status: number; reason: string };

export interface WorkerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Messages the broker may hand over per delivery slot, so the next event is ready when a slot frees
 * (2 → 4 took the embedded path from ~4.1k to ~4.8k events/s in test/bench/delivery.ts). Bounded so
 * the queue behind a slow subscriber drains within a broker's redelivery timeout (JetStream ack_wait
 * 30 s: 4 × 5 s default timeout = 20 s).
 */
const PREFETCH_FACTOR = 4;

export class SubscriptionWorker {
  private consumer: Consumer | undefined;
  private readonly abort = new AbortController();
  private readonly pool: SubscriberPool;
  private readonly limiter: Semaphore;
  private readonly keyed = new KeyedSerializer();
  private readonly url: URL;
  private readonly series: SubscriptionSeries;
  private readonly routes: Array<{ filter: CompiledFilter; url: URL }> | undefined;
  private filterErrorLogged = false;
  /** Set when the subscription opted into batched delivery. */
  private readonly batcher: Batcher | undefined;

  constructor(
    readonly spec: SubscriptionSpec,
    private readonly adapter: BrokerAdapter,
    metrics: DeliveryMetrics,
    private readonly log: WorkerLogger,
    /** Tracing on: a process span per event, an HTTP client span per attempt. */
    private readonly tracing?: BridgeTracing,
  ) {
    this.url = new URL(spec.url);
    this.routes = spec.routes?.map((r) => ({ filter: r.filter, url: new URL(r.url) }));
    this.pool = poolFor(this.url, spec.concurrency);
    this.limiter = new Semaphore(spec.concurrency);
    this.series = subscriptionSeries(metrics, spec.name);
    // Every delivery in flight (up to 2 × concurrency) listens on this one signal.
    setMaxListeners(0, this.abort.signal);
    if (spec.batch)
      this.batcher = new Batcher({
        url: this.url,
        timeoutMs: spec.timeoutMs,
        retry: spec.retry,
        batch: spec.batch,
        concurrency: spec.concurrency,
        orderedByKey: spec.orderedByKey,
        pool: this.pool,
        signal: this.abort.signal,
        onRetry: (r, events, delayMs) => {
          this.series.retried.inc(events);
          if (r.kind === 'unreachable')
            this.log.warn(
              { subscription: this.spec.name, events, error: r.error, retryInMs: delayMs },
              'subscriber unreachable; holding a batch of events',
            );
        },
      });
  }

  async start(): Promise<void> {
    this.consumer = await this.adapter.subscribe(
      {
        name: durableName(this.spec),
        patterns: this.spec.topics,
        // Batched: every batch slot full plus the one filling up.
        maxInFlight: this.spec.batch
          ? this.spec.batch.maxEvents * (this.spec.concurrency + 1)
          : this.spec.concurrency * PREFETCH_FACTOR,
      },
      (m) => this.handle(m),
    );
  }

  /** Stops taking events; events still being retried are handed back to the broker (redelivered later). */
  async stop(): Promise<void> {
    this.abort.abort(new Error(`subscription ${this.spec.name} stopped`));
    await this.consumer?.close();
    await this.pool.destroy();
  }

  private async handle(m: ReceivedMessage): Promise<void> {
    const receivedAt = performance.now();
    this.series.inFlight.inc();
    try {
      let ev: StructuredEvent;
      try {
        ev = parseStructured(m.body);
      } catch (e) {
        if (!(e instanceof PoisonEventError)) throw e;
        await this.deadLetter(m, undefined, { cause: 'poison', attempts: 0, status: 0, reason: e.message });
        return;
      }
      if (this.spec.filter && !this.selects(this.spec.filter, ev)) return; // acknowledged, not delivered
      const key = typeof ev.partitionkey === 'string' ? ev.partitionkey : m.key;
      if (this.batcher) {
        // The batcher keeps per-key order itself (several events of a key may share one batch).
        const outcome = await this.batcher.add({ id: ev.id, key, body: m.body });
        await this.settle(m, ev, receivedAt, outcome);
        return;
      }
      const run = () => this.deliver(m, ev, receivedAt);
      await (this.spec.orderedByKey && key ? this.keyed.run(key, run) : run());
    } finally {
      this.series.inFlight.dec();
    }
  }

  /** Counts what the filter leaves out; the first evaluation error of this version is logged. */
  private selects(filter: CompiledFilter, ev: StructuredEvent): boolean {
    const r = filter.evaluate(ev);
    if (r === 'match') return true;
    if (r === 'no_match') this.series.filteredOut.inc();
    else {
      this.series.filterErrors.inc();
      if (!this.filterErrorLogged) {
        this.filterErrorLogged = true;
        this.log.warn(
          { subscription: this.spec.name, id: ev.id, filter: filter.source, error: filter.lastError() },
          'subscription filter failed on an event; such events are not delivered (counted in sidecast_delivery_filtered_total{result="error"})',
        );
      }
    }
    return false;
  }

  /** The URL of the first route whose filter matches, else the subscription's. */
  private routeFor(routes: Array<{ filter: CompiledFilter; url: URL }>, ev: StructuredEvent): URL {
    for (const r of routes) if (r.filter.evaluate(ev) === 'match') return r.url;
    return this.url;
  }

  private async deliver(m: ReceivedMessage, ev: StructuredEvent, receivedAt: number): Promise<void> {
    // Built once: every retry carries the same ce-id and body.
    const { headers, body } = toBinaryRequest(ev);
    const tracing = this.tracing;
    const span = tracing?.process(ev, m.topic, this.spec.name, durableName(this.spec), m.deliveryCount);
    const url = this.routes ? this.routeFor(this.routes, ev) : this.url;
    const outcome = await deliverWithRetry(
      {
        url,
        timeoutMs: this.spec.timeoutMs,
        retry: this.spec.retry,
        pool: this.pool,
        limiter: this.limiter,
        signal: this.abort.signal,
        onRetry: (r, delayMs) => {
          this.series.retried.inc();
          if (r.kind === 'unreachable')
            this.log.warn(
              { subscription: this.spec.name, id: ev.id, error: r.error, retryInMs: delayMs },
              'subscriber unreachable; holding event',
            );
        },
        ...(span ? { traceAttempt: (n: number) => tracing!.attempt(span, url, n, headers) } : {}),
      },
      headers,
      body,
    ).catch((e: unknown) => {
      // Stopped mid-delivery: the broker redelivers it; the span says so.
      if (span) endWithError(span, 'aborted', (e as Error).message);
      throw e;
    });
    await this.settle(m, ev, receivedAt, outcome, span);
  }

  /** Metrics of a delivered event, or its dead letter; ends the event's span when it has one. */
  private async settle(
    m: ReceivedMessage,
    ev: StructuredEvent,
    receivedAt: number,
    outcome: Outcome,
    span?: Span,
  ): Promise<void> {
    if (outcome.kind === 'delivered') {
      this.series.delivered.inc();
      const seconds = (performance.now() - receivedAt) / 1000;
      if (span) {
        span.end();
        this.series.durationWithTrace(seconds, span.spanContext());
      } else this.series.duration.observe(seconds);
      const t = typeof ev.time === 'string' ? Date.parse(ev.time) : NaN;
      if (!Number.isNaN(t)) {
        const age = Math.max(0, Date.now() - t) / 1000;
        this.series.eventAge.observe(age);
        this.series.lag.set(age);
      }
      return;
    }
    if (!span) return this.deadLetter(m, ev, outcome);
    failSpan(span, outcome.cause, outcome.reason);
    try {
      await this.deadLetter(m, ev, outcome, span);
    } finally {
      span.end();
    }
  }

  /** Publishes to the dead-letter topic; if that fails the handler rejects and the broker redelivers. */
  private async deadLetter(
    m: ReceivedMessage,
    ev: StructuredEvent | undefined,
    o: DeadLetterOutcome,
    process?: Span,
  ): Promise<void> {
    const msg = deadLetterMessage(m, ev, {
      subscription: this.spec.name,
      topic: this.spec.deadLetterTopic,
      status: o.status,
      reason: o.reason,
      attempts: o.attempts,
    });
    const send = process && this.tracing?.send(process, msg.topic, msg.id, { 'error.type': o.cause });
    try {
      await this.adapter.publish([msg]);
      send?.end();
    } catch (e) {
      if (send) endWithError(send, 'unavailable', (e as Error).message);
      // Rejecting hands the event back to the broker: it is retried later, never dropped.
      this.log.error(
        {
          subscription: this.spec.name,
          id: m.id,
          deadLetterTopic: this.spec.deadLetterTopic,
          error: (e as Error).message,
        },
        'dead-letter publish failed; the broker will redeliver the event',
      );
      throw e;
    }
    this.series.deadLettered(o.cause);
    this.log.warn(
      {
        subscription: this.spec.name,
        id: m.id,
        deadLetterTopic: this.spec.deadLetterTopic,
        reason: o.reason,
        attempts: o.attempts,
      },
      'event dead-lettered',
    );
  }
}
