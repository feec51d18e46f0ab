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
      this.node = req.node; // later copies are ignored: only the first is guaranteed (§1.3)
      this.group = this.host.groupOf(req.node);
      this.host.joined(this);
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
    const ts = this.typeState(req.typeUrl);
    const now = performance.now();
    if (req.responseNonce) this.settle(ts, req);
    // Subscription changes are applied whatever the nonce (a stale nonce must not lose them).
    const changed =
      'resourceNames' in req
        ? ts.applySotwNames(req.resourceNames, now)
        : ts.applyDelta(req.subscribe, req.unsubscribe, req.initialVersions, now);
    // A plain ACK/NACK changes nothing to send (a config change meanwhile already marked the type).
    if (changed) this.markDirty([req.typeUrl], now);
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
    if (this.dirty.size) this.host.schedule(this);
  }

  /** Writes every response now due, in push order; resolves when the last one is flushed. */
  async flush(): Promise<void> {
    if (this.closed || !this.group) return;
    if (this.dirty.has(TYPE.cluster) && this.types.has(TYPE.endpoint)) this.dirty.add(TYPE.endpoint);
    const order = this.host.order(this.dirty);
    this.dirty.clear();
    let last: Promise<void> | undefined;
    for (const typeUrl of order) {
      const ts = this.types.get(typeUrl)!;
      const snap = this.host.cache.get(this.group, typeUrl);
      const plan = ts.plan(this.protocol, snap);
      const dirtySince = ts.dirtySince ?? performance.now();
      ts.dirtySince = undefined;
      if (!plan) continue;
      const nonce = String(++this.nonces);
      const bytes =
        this.protocol === 'sotw'
          ? encodeSotwResponse(
              { versionInfo: snap.version, typeUrl, nonce, resources: plan.resources },
              this.host.controlPlane.sotw,
            )
          : encodeDeltaResponse(
              {
                systemVersionInfo: snap.version,
                typeUrl,
                nonce,
                resources: plan.resources,
                removed: plan.removed,
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
      last = this.write(bytes, () =>
        this.host.metrics.pushSeconds.observe({ type }, (performance.now() - dirtySince) / 1000),
      );
      // Envoy finishes warming a changed cluster only on a fresh CLA: re-send endpoints after clusters.
      if (typeUrl === TYPE.cluster && plan.resources.length) this.types.get(TYPE.endpoint)?.forceResendAll();
    }
    await last;
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
    this.host.metrics.streams.dec({ protocol: this.protocol });
    for (const t of this.types.keys())
      this.host.metrics.subscribed.dec({ type: typeLabel(t), protocol: this.protocol });
    this.host.left(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
