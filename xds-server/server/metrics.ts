// Prometheus metrics of the discovery server (names mirror Istio's pilot_xds_* set, plus NACKs).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TYPE } from '../../proto/envoy.js';
import { SUBSCRIPTION_TYPE_URL } from '../../proto/sidecast.js';

const SHORT = new Map<string, string>([
  [TYPE.cluster, 'cds'],
  [TYPE.endpoint, 'eds'],
  [TYPE.listener, 'lds'],
  [TYPE.route, 'rds'],
  [TYPE.extensionConfig, 'ecds'],
  [SUBSCRIPTION_TYPE_URL, 'subscription'],
]);

/** Short metric label for a type URL (`cds`, `eds`, …; other types keep their URL). */
export const typeLabel = (typeUrl: string): string => SHORT.get(typeUrl) ?? typeUrl;

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class XdsMetrics {
  readonly streams: Gauge<'protocol'>;
  readonly subscribed: Gauge<'type' | 'protocol'>;
  readonly pushes: Counter<'type' | 'protocol'>;
  readonly pushBytes: Counter<'type'>;
  readonly pushSeconds: Histogram<'type'>;
  readonly convergenceSeconds: Histogram<'type'>;
  readonly nacks: Counter<'type'>;
  readonly staleNonces: Counter<'type'>;
  readonly throttledStreams: Counter;
  readonly pushQueueDepth: Gauge;
  readonly slowStreams: Gauge;
  readonly writeTimeouts: Counter;
  readonly unknownNodes: Counter;
  readonly rejectedNodes: Counter<'code'>;

  constructor(
    readonly registry: Registry,
    queueDepth: () => number,
  ) {
    const registers = [registry];
    this.streams = new Gauge({
      name: 'sidecast_xds_streams',
      help: 'Open discovery streams',
      labelNames: ['protocol'],
      registers,
    });
    this.subscribed = new Gauge({
      name: 'sidecast_xds_connected_proxies',
      help: 'Open streams that subscribed to a type, by type and protocol (sotw|delta)',
      labelNames: ['type', 'protocol'],
      registers,
    });
    this.pushes = new Counter({
      name: 'sidecast_xds_pushes_total',
      help: 'Discovery responses sent',
      labelNames: ['type', 'protocol'],
      registers,
    });
    this.pushBytes = new Counter({
      name: 'sidecast_xds_push_bytes_total',
      help: 'Bytes of discovery responses sent',
      labelNames: ['type'],
      registers,
    });
    this.pushSeconds = new Histogram({
      name: 'sidecast_xds_push_seconds',
      help: 'From a change (config published or request received) until its response was written',
      labelNames: ['type'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.convergenceSeconds = new Histogram({
      name: 'sidecast_xds_convergence_seconds',
      help: 'From a config publication (or the stream subscribing) until the proxy ACKed it',
      labelNames: ['type'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.nacks = new Counter({
      name: 'sidecast_xds_nacks_total',
      help: 'Responses rejected by proxies (error_detail set)',
      labelNames: ['type'],
      registers,
    });
    this.staleNonces = new Counter({
      name: 'sidecast_xds_stale_nonces_total',
      help: 'Requests whose response_nonce matched no outstanding response (subscription still applied)',
      labelNames: ['type'],
      registers,
    });
    this.throttledStreams = new Counter({
      name: 'sidecast_xds_streams_throttled_total',
      help: 'New streams delayed by the new-streams-per-second cap',
      registers,
    });
    this.slowStreams = new Gauge({
      name: 'sidecast_xds_slow_streams',
      help: 'Streams whose last write is past the write deadline (client not reading): not written to until it drains',
      registers,
    });
    this.writeTimeouts = new Counter({
      name: 'sidecast_xds_write_timeouts_total',
      help: 'Writes that passed the write deadline (the stream was marked slow and its push slot freed)',
      registers,
    });
    this.unknownNodes = new Counter({
      name: 'sidecast_xds_unknown_nodes_total',
      help: 'Streams whose node matched no group of the mesh (sent nothing until the group appears)',
      registers,
    });
    this.rejectedNodes = new Counter({
      name: 'sidecast_xds_rejected_nodes_total',
      help: 'Streams refused because of their node (empty id/cluster, too large), by gRPC status',
      labelNames: ['code'],
      registers,
    });
    this.pushQueueDepth = new Gauge({
      name: 'sidecast_xds_push_queue_depth',
      help: 'Streams waiting for a push',
      registers,
      collect() {
        this.set(queueDepth());
      },
    });
  }
}
