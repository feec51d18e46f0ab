// One discovery stream (SotW or delta, ADS or a per-type service): latches the node from the
// first request, keeps a TypeState per type URL, and writes responses in ADS order when flushed
// by the push queue.
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { TYPE } from '../../proto/envoy.js';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { DeltaRequest, Protocol, SotwRequest, XdsNode } from './messages.js';
import type { XdsMetrics } from './metrics.js';
import { typeLabel } from './metrics.js';
import type { NackRecord, SentRecord, TypeRules } from './type-state.js';
import { TypeState } from './type-state.js';
import { edsNameOf } from './eds-name.js';
import { encodeDeltaResponse, encodeSotwResponse } from './wire.js';

export type DiscoveryCall = grpc.ServerDuplexStream<SotwRequest | DeltaRequest, Buffer>;

export interface AckEvent {
  streamId: number;
  nodeId: string;
  group: string;
  typeUrl: string;
  version: string;
  nonce: string;
  /** ms from the config becoming relevant to this stream until the reply. */
  latencyMs: number;
}
export interface NackEvent extends AckEvent {
  message: string;
}

/** What a stream needs from its server (kept narrow so the stream is testable on its own). */
export interface StreamHost {
  readonly cache: SnapshotCache;
  readonly metrics: XdsMetrics;
  readonly controlPlane: { sotw: Uint8Array; delta: Uint8Array };
  groupOf(node: XdsNode): string;
  rulesOf(typeUrl: string): TypeRules;
  /** Sorts type URLs into push order (CDS → EDS → LDS → RDS → …). */
  order(typeUrls: Iterable<string>): string[];
  admit(stream: XdsStream, then: () => void): boolean;
  joined(stream: XdsStream): void;
  left(stream: XdsStream): void;
  schedule(stream: XdsStream): void;
  acked(e: AckEvent): void;
  nacked(e: NackEvent, node: XdsNode, rec: NackRecord): void;
  /** Why a node is refused (empty id, …), or undefined when it is acceptable. */
  nodeProblem(node: XdsNode, nodeBytes: number): { code: grpc.status; message: string } | undefined;
  /** Whether the server serves this type URL at all. */
  servesType(typeUrl: string): boolean;
  /** Called when a stream's node maps to a group the cache has no snapshot for (it is sent nothing). */
  unknownGroup(stream: XdsStream): void;
  /** The stream's subscription to a type changed (wildcard or names): re-index it. */
  subscriptionChanged(stream: XdsStream, ts: TypeState): void;
  /** A write passed its deadline (slow = true) or finally drained (slow = false). */
  slowChanged(stream: XdsStream, slow: boolean): void;
  /** ms a write may take before the stream is marked slow and its push slot freed. */
  readonly writeTimeoutMs: number;
  /** TTL (ms) to set on resources of this type for this stream, or undefined. */
  ttlOf(stream: XdsStream, typeUrl: string): number | undefined;
}

let nextStreamId = 1;

export class XdsStream {
  readonly id = nextStreamId++;
  readonly openedAt = Date.now();
  readonly peer: string;
  node: XdsNode | undefined;
  group: string | undefined;
  readonly types = new Map<string, TypeState>();
  private readonly dirty = new Set<string>();
  private nonces = 0;
  private closed = false;
  /** Set while a write is past its deadline: nothing more is written until it drains. */
  slowSince: number | undefined;
  /** The node's group has no snapshot: nothing is sent (an empty full state would wipe the proxy). */
  groupUnknown = false;
  private backlog: Array<SotwRequest | DeltaRequest> | undefined = [];

  constructor(
    private readonly host: StreamHost,
    private readonly call: DiscoveryCall,
    readonly protocol: Protocol,
    readonly onlyType: string | undefined,
  ) {
    this.peer = call.getPeer();
    host.metrics.streams.inc({ protocol });
    call.on('data', (req: SotwRequest | DeltaRequest) => {
      if (this.backlog) this.backlog.push(req);
      else this.handleSafely(req);
    });
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    if (host.admit(this, () => this.admitted())) this.admitted();
  }

  private admitted(): void {
    const backlog = this.backlog ?? [];
    this.backlog = undefined;
    for (const req of backlog) this.handleSafely(req);
  }

  /** A bug or a surprising request ends this stream with INTERNAL, never the process. */
  private handleSafely(req: SotwRequest | DeltaRequest): void {
    try {
      this.handle(req);
    } catch (e) {
      this.fail(
        grpc.status.INTERNAL,
        `xds-server failed on a ${req.typeUrl || 'discovery'} request: ${(e as Error).message}`,
      );
    }
  }

  private fail(code: grpc.status, details: string): void {
    this.close();
    this.call.emit('error', Object.assign(new Error(details), { code, details }));
  }

  private typeState(typeUrl: string): TypeState {
    let ts = this.types.get(typeUrl);
    if (!ts) {
      const legacyWildcard = !this.node!.userAgentName.startsWith('gRPC');
      ts = new TypeState(typeUrl, this.host.rulesOf(typeUrl), legacyWildcard);
      this.types.set(typeUrl, ts);
      this.host.metrics.subscribed.inc({ type: typeLabel(typeUrl), protocol: this.protocol });
    }
    return ts;
  }

  private handle(req: SotwRequest | DeltaRequest): void {
    if (this.closed) return;
    if (!this.node) {
      if (!req.node)
        return this.fail(
          grpc.status.INVALID_ARGUMENT,
          'the first DiscoveryRequest of a stream must carry node (set node.id)',
        );
      const problem = this.host.nodeProblem(req.node, req.nodeBytes);
      if (problem) return this.fail(problem.code, problem.message);
      this.node = req.node; // later copies are ignored: only the first is guaranteed (§1.3)
      this.group = this.host.groupOf(req.node);
      this.host.joined(this);
      this.groupUnknown = !this.host.cache.hasGroup(this.group);
      if (this.groupUnknown) this.host.unknownGroup(this);
    }
    if (!req.typeUrl)
      return this.fail(
        grpc.status.INVALID_ARGUMENT,
        'DiscoveryRequest.type_url is empty; set the resource type URL',
      );
    if (this.onlyType && req.typeUrl !== this.onlyType) {
      return this.fail(
        grpc.status.INVALID_ARGUMENT,
        `this service serves ${this.onlyType} only, got type_url ${req.typeUrl}; use ADS for other types`,
      );
    }
    if (!this.types.has(req.typeUrl) && !this.host.servesType(req.typeUrl)) {
      // SotW has no "does not exist" signal: silence would leave the client waiting for its
      // fetch timeout. Delta answers named subscriptions with removed_resources instead.
      if (this.protocol === 'sotw')
        return this.fail(
          grpc.status.INVALID_ARGUMENT,
          `type_url ${req.typeUrl} is not served by this xds-server; remove it from the node's ADS ` +
            'config (served: Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, ' +
            'TypedExtensionConfig, sidecast.v1.Subscription)',
        );
    }
    const ts = this.typeState(req.typeUrl);
    const now = performance.now();
    if (req.responseNonce) this.settle(ts, req);
    // Subscription changes are applied whatever the nonce (a stale nonce must not lose them).
    const changed =
      'resourceNames' in req
        ? ts.applySotwNames(req.resourceNames, now)
        : ts.applyDelta(req.subscribe, req.unsubscribe, req.initialVersions, now);
    if (changed) {
      this.host.subscriptionChanged(this, ts);
      ts.requested = true; // answered even while an earlier response awaits its reply
      this.markDirty([req.typeUrl], now);
    } else if (this.dirty.has(req.typeUrl) && !ts.awaitingReply) {
      // A reply opened the gate for a push held back while this type awaited it (coalesced).
      this.schedule();
    }
  }

  private settle(ts: TypeState, req: SotwRequest | DeltaRequest): void {
    const now = performance.now();
    const settled = ts.settle(req.responseNonce, req.errorDetail, Date.now());
    const type = typeLabel(ts.typeUrl);
    if (!settled) {
      this.host.metrics.staleNonces.inc({ type });
      return;
    }
    const e: AckEvent = {
      streamId: this.id,
      nodeId: this.node!.id,
      group: this.group!,
      typeUrl: ts.typeUrl,
      version: settled.rec.version,
      nonce: req.responseNonce,
      latencyMs: now - settled.rec.since,
    };
    if (settled.nack) {
      this.host.metrics.nacks.inc({ type });
      this.host.nacked({ ...e, message: ts.lastNack!.message }, this.node!, ts.lastNack!);
    } else {
      this.host.metrics.convergenceSeconds.observe({ type }, e.latencyMs / 1000);
      this.host.acked(e);
    }
  }

  /** Marks types for the next flush (a cache change or a request) and queues the stream. */
  markDirty(typeUrls: Iterable<string>, since: number): void {
    if (this.closed || this.backlog || !this.group) return;
    for (const t of typeUrls) {
      const ts = this.types.get(t);
      if (!ts) continue; // never subscribed on this stream
      ts.dirtySince ??= since;
      this.dirty.add(t);
    }
    if (this.dirty.size) this.schedule();
  }

  /** Heartbeat: types with a TTL are re-stated (version + ttl, no body) unless a push is due anyway. */
  heartbeat(): void {
    let any = false;
    for (const ts of this.types.values()) {
      if (this.host.ttlOf(this, ts.typeUrl) === undefined || ts.awaitingReply || this.dirty.has(ts.typeUrl))
        continue;
      ts.heartbeatDue = true;
      this.dirty.add(ts.typeUrl);
      any = true;
    }
    if (any) this.schedule();
  }

  /** Queues the stream unless it cannot take a push now (slow writer, unknown group). */
  private schedule(): void {
    if (this.slowSince === undefined && !this.groupUnknown) this.host.schedule(this);
  }

  /** The node's group appeared in (or vanished from) the cache. */
  groupChanged(known: boolean): void {
    this.groupUnknown = !known;
    if (known && this.dirty.size) this.schedule();
  }

  /** Writes every response now due, in push order; resolves when they are flushed or the write deadline passed. */
  async flush(): Promise<void> {
    if (this.closed || !this.group || this.slowSince !== undefined || this.groupUnknown) return;
    const order = this.host.order(this.dirty);
    this.dirty.clear();
    const writes: Promise<void>[] = [];
    for (const typeUrl of order) {
      const ts = this.types.get(typeUrl)!;
      // A config push waits for the reply to the type's response in flight, then carries the
      // newest state (coalesced); a request (new names) is answered at once.
      if (ts.awaitingReply && !ts.requested) {
        this.dirty.add(typeUrl);
        continue;
      }
      ts.requested = false;
      const snap = this.host.cache.get(this.group, typeUrl);
      const ttlMs = this.host.ttlOf(this, typeUrl);
      const heartbeat = ts.heartbeatDue;
      ts.heartbeatDue = false;
      const plan = ts.plan(this.protocol, snap) ?? (heartbeat ? ts.heartbeatPlan(snap) : undefined);
      const dirtySince = ts.dirtySince ?? performance.now();
      ts.dirtySince = undefined;
      if (!plan) continue;
      const nonce = String(++this.nonces);
      const wrap = ttlMs === undefined ? undefined : { ttlMs, bodiless: plan.bodiless };
      const bytes =
        this.protocol === 'sotw'
          ? encodeSotwResponse(
              { versionInfo: snap.version, typeUrl, nonce, resources: plan.resources, wrap },
              this.host.controlPlane.sotw,
            )
          : encodeDeltaResponse(
              {
                systemVersionInfo: snap.version,
                typeUrl,
                nonce,
                resources: plan.resources,
                removed: plan.removed,
                wrap,
              },
              this.host.controlPlane.delta,
            );
      const rec: SentRecord = {
        version: snap.version,
        nonce,
        at: Date.now(),
        since: Math.max(snap.publishedAt, ts.firstRequestAt),
      };
      ts.recordSent(rec, this.protocol);
      const type = typeLabel(typeUrl);
      this.host.metrics.pushes.inc({ type, protocol: this.protocol });
      this.host.metrics.pushBytes.inc({ type }, bytes.length);
      writes.push(
        this.write(bytes, () =>
          this.host.metrics.pushSeconds.observe({ type }, (performance.now() - dirtySince) / 1000),
        ),
      );
      // Envoy finishes warming a changed cluster only on a fresh CLA: re-send the endpoints of the
      // clusters that changed (and only those) right after.
      const eds = this.types.get(TYPE.endpoint);
      if (typeUrl === TYPE.cluster && eds && plan.changed.length) {
        eds.forceResend(
          plan.changed.flatMap((n) => {
            const r = snap.resources.get(n);
            return r ? [edsNameOf(r)] : [];
          }),
        );
        eds.dirtySince ??= dirtySince;
        if (!order.includes(TYPE.endpoint)) order.splice(order.indexOf(TYPE.cluster) + 1, 0, TYPE.endpoint);
      }
    }
    if (writes.length) await this.awaitWrites(Promise.all(writes));
  }

  /**
   * Waits for the writes up to the write deadline. A client that stops reading (HTTP/2 window 0)
   * never lets them finish: past the deadline the stream is marked slow and its push slot freed;
   * it is written to again once the stuck bytes drain, with the newest state.
   */
  private async awaitWrites(done: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.host.writeTimeoutMs);
    });
    const drained = done.then(
      () => false,
      () => false, // a failed write ends the call; grpc-js reports it through 'error'/'cancelled'
    );
    const timedOut = await Promise.race([drained, late]);
    clearTimeout(timer);
    if (!timedOut || this.closed) return;
    this.slowSince = Date.now();
    this.host.slowChanged(this, true);
    void drained.then(() => {
      if (this.closed || this.slowSince === undefined) return;
      this.slowSince = undefined;
      this.host.slowChanged(this, false);
      if (this.dirty.size) this.schedule();
    });
  }

  /** Resolves once grpc-js has handed the bytes to the transport (push latency ends there). */
  private write(bytes: Buffer, written: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.call.write(bytes, (err: Error | null | undefined) => {
        if (err) return reject(err);
        written();
        resolve();
      });
    });
  }

  /** Ends the call with OK (server shutdown): the client reconnects, to this or another replica. */
  end(): void {
    this.close();
    this.call.end();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.slowSince !== undefined) this.host.slowChanged(this, false);
    this.host.metrics.streams.dec({ protocol: this.protocol });
    for (const t of this.types.keys())
      this.host.metrics.subscribed.dec({ type: typeLabel(t), protocol: this.protocol });
    this.host.left(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
