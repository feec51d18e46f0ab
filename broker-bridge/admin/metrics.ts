// Prometheus metrics of one bridge, in a registry of its own (no global state: tests and embedders
// may run several bridges in one process).

import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class BridgeMetrics {
  readonly registry = new Registry();
  readonly ingested = new Counter({
    name: 'sidecast_bridge_events_ingested_total',
    help: 'Events received by ingest, by transport (http | grpc)',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly accepted = new Counter({
    name: 'sidecast_bridge_events_accepted_total',
    help: 'Events acknowledged to producers (durably held by the broker or the spool)',
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'sidecast_bridge_events_rejected_total',
    help: 'Events rejected, by reason code',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly published = new Counter({
    name: 'sidecast_bridge_events_published_total',
    help: 'Events acknowledged by the broker (direct or replayed from the spool)',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });
  readonly spooled = new Counter({
    name: 'sidecast_bridge_events_spooled_total',
    help: 'Events written to the local spool because the broker was unreachable',
    registers: [this.registry],
  });
  readonly spoolDropped = new Counter({
    name: 'sidecast_bridge_spool_dropped_total',
    help: 'Spooled events the broker refused for good on replay (logged with their id)',
    registers: [this.registry],
  });
  readonly schemaViolations = new Counter({
    name: 'sidecast_bridge_schema_violations_total',
    help: 'Events whose data broke their EventRoute data contract, by route and policy (reject | deadLetter | warn)',
    labelNames: ['route', 'policy'] as const,
    registers: [this.registry],
  });
  readonly publishLatency = new Histogram({
    name: 'sidecast_bridge_publish_latency_seconds',
    help: 'Broker publish call duration per batch, until the broker acknowledged',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly ackLatency = new Histogram({
    name: 'sidecast_bridge_ingest_ack_latency_seconds',
    help: 'From request parsed to events durably held (broker ack or spool fsync)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** `openMetrics`: expose in the OpenMetrics format, which alone carries exemplars (tracing on). */
  constructor(opts: { openMetrics?: boolean } = {}) {
    if (opts.openMetrics)
      (this.registry as unknown as Registry<OpenMetricsContentType>).setContentType(
        Registry.OPENMETRICS_CONTENT_TYPE,
      );
  }

  /** Gauges read at scrape time from the live objects. */
  watch(spool: () => { depth: number; bytes: number }, brokerUp: () => boolean): void {
    new Gauge({
      name: 'sidecast_bridge_spool_depth',
      help: 'Events waiting in the spool for the broker',
      registers: [this.registry],
      collect() {
        this.set(spool().depth);
      },
    });
    new Gauge({
      name: 'sidecast_bridge_spool_bytes',
      help: 'Bytes of events waiting in the spool',
      registers: [this.registry],
      collect() {
        this.set(spool().bytes);
      },
    });
    new Gauge({
      name: 'sidecast_bridge_broker_connected',
      help: '1 when the broker adapter reports a connection',
      registers: [this.registry],
      collect() {
        this.set(brokerUp() ? 1 : 0);
      },
    });
  }
}
