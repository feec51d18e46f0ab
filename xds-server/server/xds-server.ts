// The discovery server: ADS (SotW + delta) and the per-type services over one snapshot cache.
// It knows nothing of where resources come from: it is given a cache and a node → group function.
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { TYPE } from '../../proto/envoy.js';
import { EVENT_CONTRACT_TYPE_URL, SUBSCRIPTION_TYPE_URL } from '../../proto/sidecast.js';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { TypeSnapshot } from '../cache/types.js';
import type { Protocol, XdsNode } from './messages.js';
import { discoveryServices, SOTW_METHODS } from './messages.js';
import { XdsMetrics } from './metrics.js';
import { PushQueue } from './push-queue.js';
import { TokenBucket } from './rate-limit.js';
import type { AckEvent, DiscoveryCall, NackEvent, StreamHost } from './stream.js';
import { XdsStream } from './stream.js';
import type { NackRecord, TypeRules } from './type-state.js';
import { SubscriberIndex } from './subscribers.js';
import { syncStatus, type StreamStatus } from './sync-status.js';
import { controlPlaneField } from './wire.js';

export interface XdsServerOptions {
  cache: SnapshotCache;
  /** Node → cache group (docs/interfaces.md §4). */
  groupOf: (node: XdsNode) => string;
  /** `control_plane.identifier` in every response; default `sidecast-xds/<host>/<pid>/<random>`. */
  controlPlaneId?: string;
  registry?: Registry;
  /** Streams being written at once (default 256). */
  pushConcurrency?: number;
  /** New streams admitted per second (default 1000) and burst (default 2× that). */
  newStreamsPerSecond?: number;
  newStreamBurst?: number;
  /** NACKs remembered per node × type after their stream ended (default 10 000). */
  nackHistory?: number;
  /** A write taking longer marks its stream slow and frees its push slot (default 2000 ms). */
  writeTimeoutMs?: number;
  /** Largest accepted node (id, metadata, …) in bytes; larger ones end the stream (default 64 KiB). */
  maxNodeBytes?: number;
  /** Largest accepted request message in bytes (grpc.max_receive_message_length; default 1 MiB). */
  maxRequestBytes?: number;
  /** Extra node rule (e.g. the mesh's: a sidecar needs node.cluster); a message refuses the node. */
  nodeProblem?: (node: XdsNode) => string | undefined;
  /** Resource TTL for clients that advertise xds.config.supports-resource-ttl, refreshed by heartbeats. */
  ttl?: ResourceTtl;
  logger?: XdsLogger;
}

export interface ResourceTtl {
  ttlMs: number;
  /** Type URLs whose resources carry the TTL. */
  types: string[];
  /** Heartbeat interval (default ttlMs / 3). */
  heartbeatMs?: number;
}

/** The slice of a pino logger the server uses. */
export interface XdsLogger {
  warn(obj: object, msg: string): void;
}

export const SUPPORTS_TTL = 'xds.config.supports-resource-ttl';
export const SUPPORTS_RESOURCE_IN_SOTW = 'xds.config.supports-resource-in-sotw';

/** LDS/CDS (and sidecast's Subscription) are full-state in SotW and support wildcard; others are named-only. */
const FULL_STATE_WILDCARD: TypeRules = { fullState: true, wildcard: true };
const NAMED: TypeRules = { fullState: false, wildcard: false };
const WILDCARD_TYPES = new Set([TYPE.listener, TYPE.cluster, SUBSCRIPTION_TYPE_URL, EVENT_CONTRACT_TYPE_URL]);
/** Make-before-break push order (reference §1.8); unknown types go last, by name. */
const PUSH_ORDER = [
  TYPE.cluster,
  TYPE.endpoint,
  TYPE.listener,
  TYPE.route,
  TYPE.extensionConfig,
  SUBSCRIPTION_TYPE_URL,
  EVENT_CONTRACT_TYPE_URL,
];
const SERVED_TYPES = new Set(PUSH_ORDER);
const rank = (t: string): number => {
  const i = PUSH_ORDER.indexOf(t);
  return i < 0 ? PUSH_ORDER.length : i;
};

export interface NackLogEntry extends NackRecord {
  nodeId: string;
  typeUrl: string;
}

export class XdsServer {
  readonly controlPlaneId: string;
  readonly metrics: XdsMetrics;
  /** 'ack' (AckEvent) and 'nack' (NackEvent) for every reply matched to a response. */
  readonly events = new EventEmitter();
  private readonly cache: SnapshotCache;
  private readonly streams = new Set<XdsStream>();
  private readonly byGroup = new Map<string, Set<XdsStream>>();
  private readonly queue: PushQueue<XdsStream>;
  private readonly admission: TokenBucket;
  private readonly nacks = new Map<string, NackLogEntry>();
  private readonly nackHistory: number;
  private readonly unsubscribeCache: () => void;
  private readonly host: StreamHost;
  private readonly subscribers = new SubscriberIndex<XdsStream>();
  /** Streams whose node maps to no group the cache knows, by group (see /debug/syncz). */
  private readonly unknown = new Map<string, Set<XdsStream>>();
  private readonly heartbeatTimer: NodeJS.Timeout | undefined;
  private grpcServer: grpc.Server | undefined;

  constructor(private readonly options: XdsServerOptions) {
    this.cache = options.cache;
    this.controlPlaneId =
      options.controlPlaneId ?? `sidecast-xds/${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
    this.queue = new PushQueue(options.pushConcurrency ?? 256);
    const perSecond = options.newStreamsPerSecond ?? 1000;
    this.admission = new TokenBucket(perSecond, options.newStreamBurst ?? perSecond * 2);
    this.nackHistory = options.nackHistory ?? 10_000;
    this.metrics = new XdsMetrics(options.registry ?? new Registry(), () => this.queue.depth);
    this.events.setMaxListeners(0);
    this.unsubscribeCache = this.cache.onChange((group, changed) => {
      const now = performance.now();
      const known = this.cache.hasGroup(group);
      const waiting = this.unknown.get(group);
      if (known && waiting) {
        this.unknown.delete(group);
        for (const s of waiting) s.groupChanged(true);
      } else if (!known) {
        for (const s of this.byGroup.get(group) ?? []) this.markUnknown(s);
      }
      // Only the streams that want a changed name (or the whole type) are touched.
      for (const [typeUrl, names] of changed)
        for (const s of this.subscribers.affected(group, typeUrl, names)) s.markDirty([typeUrl], now);
    });
    this.host = this.streamHost();
    const ttl = options.ttl;
    if (ttl) {
      this.heartbeatTimer = setInterval(
        () => {
          for (const s of this.streams) s.heartbeat();
        },
        ttl.heartbeatMs ?? Math.max(1, Math.floor(ttl.ttlMs / 3)),
      );
      this.heartbeatTimer.unref();
    }
  }

  private markUnknown(stream: XdsStream): void {
    stream.groupChanged(false);
    let set = this.unknown.get(stream.group!);
    if (!set) this.unknown.set(stream.group!, (set = new Set()));
    set.add(stream);
  }

  /** Adds ADS and the per-type discovery services to a grpc-js server. */
  register(server: grpc.Server): void {
    for (const svc of discoveryServices(TYPE)) {
      const handlers: grpc.UntypedServiceImplementation = {};
      for (const methodName of Object.keys(svc.definition)) {
        if (methodName.startsWith('Fetch')) {
          handlers[methodName] = (_call: unknown, cb: grpc.sendUnaryData<Buffer>) =>
            cb({
              code: grpc.status.UNIMPLEMENTED,
              details:
                `${svc.name}/${methodName} (REST/unary Fetch) is not served: sidecast's xds-server ` +
                'pushes over streams only; use ADS (StreamAggregatedResources or DeltaAggregatedResources)',
            });
          continue;
        }
        const protocol: Protocol = SOTW_METHODS.has(methodName) ? 'sotw' : 'delta';
        handlers[methodName] = (call: DiscoveryCall) => this.accept(call, protocol, svc.onlyType);
      }
      server.addService(svc.definition, handlers);
    }
  }

  /** Creates a grpc-js server with the discovery services and binds it; resolves to the bound port. */
  async listen(
    address: string,
    credentials = grpc.ServerCredentials.createInsecure(),
    options: grpc.ServerOptions = {},
    /** Adds further services (CSDS) before binding. */
    more?: (server: grpc.Server) => void,
  ): Promise<number> {
    const server = new grpc.Server({
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': this.options.maxRequestBytes ?? 1024 * 1024,
      ...options,
    });
    this.register(server);
    more?.(server);
    this.grpcServer = server;
    return new Promise((resolve, reject) =>
      server.bindAsync(address, credentials, (err, port) =>
        err ? reject(new Error(`xDS gRPC server could not bind ${address}: ${err.message}`)) : resolve(port),
      ),
    );
  }

  /** Stops accepting, ends every stream (clients reconnect elsewhere), and releases the cache. */
  async close(): Promise<void> {
    this.unsubscribeCache();
    clearInterval(this.heartbeatTimer);
    this.admission.cancelAll();
    for (const s of [...this.streams]) s.end();
    const server = this.grpcServer;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.tryShutdown(() => resolve());
      setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000).unref();
    });
  }

  private accept(call: DiscoveryCall, protocol: Protocol, onlyType: string | undefined): void {
    const stream = new XdsStream(this.host, call, protocol, onlyType);
    if (!stream.isClosed) this.streams.add(stream);
  }

  private streamHost(): StreamHost {
    return {
      cache: this.cache,
      metrics: this.metrics,
      // DiscoveryResponse.control_plane is field 6, DeltaDiscoveryResponse.control_plane field 7.
      controlPlane: {
        sotw: controlPlaneField(6, this.controlPlaneId),
        delta: controlPlaneField(7, this.controlPlaneId),
      },
      groupOf: (node) => this.options.groupOf(node),
      rulesOf: (typeUrl) => (WILDCARD_TYPES.has(typeUrl) ? FULL_STATE_WILDCARD : NAMED),
      order: (typeUrls) => [...typeUrls].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)),
      admit: (_stream, then) => {
        const now = this.admission.take(then);
        if (!now) this.metrics.throttledStreams.inc();
        return now;
      },
      joined: (stream) => {
        let set = this.byGroup.get(stream.group!);
        if (!set) this.byGroup.set(stream.group!, (set = new Set()));
        set.add(stream);
      },
      left: (stream) => {
        this.streams.delete(stream);
        this.queue.forget(stream);
        this.subscribers.remove(stream);
        const waiting = this.unknown.get(stream.group ?? '');
        waiting?.delete(stream);
        if (waiting?.size === 0) this.unknown.delete(stream.group!);
        const set = this.byGroup.get(stream.group ?? '');
        set?.delete(stream);
        if (set?.size === 0) this.byGroup.delete(stream.group!);
      },
      schedule: (stream) => this.queue.enqueue(stream),
      acked: (e: AckEvent) => this.events.emit('ack', e),
      nacked: (e: NackEvent, node: XdsNode, rec: NackRecord) => {
        const key = `${node.id}\0${e.typeUrl}`;
        this.nacks.delete(key);
        this.nacks.set(key, { ...rec, nodeId: node.id, typeUrl: e.typeUrl });
        if (this.nacks.size > this.nackHistory) this.nacks.delete(this.nacks.keys().next().value!);
        this.events.emit('nack', e);
      },
      nodeProblem: (node, nodeBytes) => this.nodeProblem(node, nodeBytes),
      servesType: (typeUrl) => SERVED_TYPES.has(typeUrl) || this.cache.knowsType(typeUrl),
      unknownGroup: (stream) => {
        this.metrics.unknownNodes.inc();
        this.options.logger?.warn(
          { nodeId: stream.node!.id, cluster: stream.node!.cluster, group: stream.group, peer: stream.peer },
          'xDS node matches no group of the mesh: sending it nothing until one appears (check node.id/node.cluster)',
        );
        this.markUnknown(stream);
      },
      subscriptionChanged: (stream, ts) => this.subscribers.set(stream, stream.group!, ts.typeUrl, ts),
      slowChanged: (_stream, slow) => {
        if (slow) {
          this.metrics.writeTimeouts.inc();
          this.metrics.slowStreams.inc();
        } else this.metrics.slowStreams.dec();
      },
      writeTimeoutMs: this.options.writeTimeoutMs ?? 2000,
      ttlOf: (stream, typeUrl) => this.ttlOf(stream, typeUrl),
    };
  }

  private nodeProblem(node: XdsNode, nodeBytes: number): { code: grpc.status; message: string } | undefined {
    const max = this.options.maxNodeBytes ?? 64 * 1024;
    let problem: { code: grpc.status; message: string } | undefined;
    if (nodeBytes > max)
      problem = {
        code: grpc.status.RESOURCE_EXHAUSTED,
        message: `node is ${nodeBytes} bytes, above this xds-server's cap of ${max} (--max-node-bytes); trim node.metadata`,
      };
    else if (!node.id)
      problem = {
        code: grpc.status.INVALID_ARGUMENT,
        message:
          'node.id is empty: every xDS client needs a node id (Envoy: --service-node or node.id in the bootstrap)',
      };
    else {
      const message = this.options.nodeProblem?.(node);
      if (message) problem = { code: grpc.status.INVALID_ARGUMENT, message };
    }
    if (problem) {
      this.metrics.rejectedNodes.inc({ code: grpc.status[problem.code] });
      this.options.logger?.warn({ nodeId: node.id, nodeBytes }, `xDS node refused: ${problem.message}`);
    }
    return problem;
  }

  /** TTL for this stream × type: only when configured for the type and advertised by the client. */
  private ttlOf(stream: XdsStream, typeUrl: string): number | undefined {
    const ttl = this.options.ttl;
    if (!ttl || !ttl.types.includes(typeUrl)) return undefined;
    const features = stream.node?.clientFeatures ?? [];
    if (!features.includes(SUPPORTS_TTL)) return undefined;
    if (stream.protocol === 'sotw') {
      // SotW needs the Resource wrapper, and Envoy drops heartbeats before applying a response:
      // for a full-state type (LDS/CDS) a heartbeat would read as "no resources" and delete them all.
      if (!features.includes(SUPPORTS_RESOURCE_IN_SOTW) || WILDCARD_TYPES.has(typeUrl)) return undefined;
    }
    return ttl.ttlMs;
  }

  /** Per open stream × type: subscription, sent/ACKed version and nonce, last NACK (for /debug/syncz). */
  syncz(): StreamStatus[] {
    return [...this.streams].map((s) => syncStatus(s, this.cache));
  }

  /** The snapshot a stream's type is served from (undefined while its group is unknown). */
  snapshotFor(stream: XdsStream, typeUrl: string): TypeSnapshot | undefined {
    return stream.group !== undefined && this.cache.hasGroup(stream.group)
      ? this.cache.get(stream.group, typeUrl)
      : undefined;
  }

  /** Open streams, for status views (CSDS). */
  openStreams(): Iterable<XdsStream> {
    return this.streams;
  }

  /** Last NACK per node × type, including nodes whose stream has ended. */
  nackLog(): NackLogEntry[] {
    return [...this.nacks.values()];
  }

  /** Node ids with an open stream, and their group (for /debug/config_dump?node=). */
  groupOfConnectedNode(nodeId: string): string | undefined {
    for (const s of this.streams) if (s.node?.id === nodeId) return s.group;
    return undefined;
  }

  get streamCount(): number {
    return this.streams.size;
  }
}
