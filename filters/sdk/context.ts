// The classes filter authors extend. Override only the callbacks you need; defaults let traffic
// through. Callbacks run with this context as the host's current (effective) context, so the
// module-level header maps / buffers in maps.ts act on this context's stream.
import {
  FilterDataStatus, FilterHeadersStatus, FilterMetadataStatus, FilterStatus, FilterTrailersStatus, GrpcStatus,
  HeaderPair, PeerType, StreamType, U32Result, WasmResult,
} from "./types";
import * as hc from "./hostcalls";
import { rememberCallout } from "./callouts";
import { pluginConfiguration, vmConfiguration } from "./maps";

/** Base of every context: identity, callout results, teardown. */
export class Context {
  constructor(public readonly id: u32, public readonly rootContextId: u32) {}

  /** Result of this context's httpCall; numHeaders 0 ⇒ the call failed (see getStatus()). */
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {}
  onGrpcReceiveInitialMetadata(token: u32, numHeaders: u32): void {}
  onGrpcReceive(token: u32, messageSize: u32): void {}
  onGrpcReceiveTrailingMetadata(token: u32, numTrailers: u32): void {}
  onGrpcClose(token: u32, status: GrpcStatus): void {}
  /** Stream end (access-log phase; Envoy calls it before onDone). */
  onLog(): void {}
  /** Root contexts: return false to finish later with done(). Ignored for streams. */
  onDone(): bool {
    return true;
  }
  onDelete(): void {}

  /** HTTP call whose result arrives in this context's onHttpCallResponse. Always set a timeout. */
  httpCall(
    cluster: string, headers: Array<HeaderPair>, body: ArrayBuffer | null, trailers: Array<HeaderPair>, timeoutMs: u32,
  ): U32Result {
    return this.own(hc.httpCall(cluster, headers, body, trailers, timeoutMs));
  }

  /** Unary gRPC call; results arrive in this context's onGrpc* callbacks. */
  grpcCall(
    upstream: string, service: string, method: string, metadata: Array<HeaderPair>, message: ArrayBuffer | null,
    timeoutMs: u32,
  ): U32Result {
    return this.own(hc.grpcCall(upstream, service, method, metadata, message, timeoutMs));
  }

  /** gRPC stream; send with grpcSend(token, ...), results arrive in this context's onGrpc* callbacks. */
  grpcStream(upstream: string, service: string, method: string, metadata: Array<HeaderPair>): U32Result {
    return this.own(hc.grpcStream(upstream, service, method, metadata));
  }

  private own(r: U32Result): U32Result {
    if (r.status == WasmResult.Ok) rememberCallout(r.value, this.rootContextId, this.id);
    return r;
  }
}

/** One per plugin configuration (and worker VM): configuration, timers, queues, stream factory. */
export class RootContext extends Context {
  /** The plugin's root_id this context was created for (set by the dispatcher). */
  rootId: string = "";

  constructor(id: u32) {
    super(id, id);
  }

  onVmStart(vmConfigurationSize: u32): bool {
    return true;
  }
  onValidateConfiguration(configurationSize: u32): bool {
    return true;
  }
  /** Parse and validate the plugin configuration here; false rejects it (Envoy NACKs). */
  onConfigure(configurationSize: u32): bool {
    return true;
  }
  onTick(): void {}
  onQueueReady(queueId: u32): void {}
  onForeignFunction(functionId: u32, argumentsSize: u32): void {}

  /** Return the HTTP context for a new stream, or null to let it through untouched. */
  createHttpContext(contextId: u32): HttpContext | null {
    return null;
  }
  /** Return the TCP context for a new connection, or null. */
  createTcpContext(contextId: u32): TcpContext | null {
    return null;
  }

  /** Plugin configuration as text (only readable inside onConfigure); null when absent. */
  pluginConfiguration(): string | null {
    return pluginConfiguration.text();
  }
  /** VM configuration as text (readable from any callback); null when absent. */
  vmConfiguration(): string | null {
    return vmConfiguration.text();
  }
  /** onTick every `ms` milliseconds (0 stops). */
  setTickPeriod(ms: u32): WasmResult {
    return hc.setTickPeriodMilliseconds(ms);
  }
}

/** One per HTTP stream (request + response). */
export class HttpContext extends Context {
  constructor(id: u32, public readonly root: RootContext) {
    super(id, root.id);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }
  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    return FilterDataStatus.Continue;
  }
  onRequestTrailers(numTrailers: u32): FilterTrailersStatus {
    return FilterTrailersStatus.Continue;
  }
  onRequestMetadata(numElements: u32): FilterMetadataStatus {
    return FilterMetadataStatus.Continue;
  }
  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }
  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    return FilterDataStatus.Continue;
  }
  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    return FilterTrailersStatus.Continue;
  }
  onResponseMetadata(numElements: u32): FilterMetadataStatus {
    return FilterMetadataStatus.Continue;
  }

  /** Resumes a request paused from a callback (takes effect after the current callback). */
  continueRequest(): WasmResult {
    return hc.continueStream(StreamType.HttpRequest);
  }
  continueResponse(): WasmResult {
    return hc.continueStream(StreamType.HttpResponse);
  }
  /** Resets the stream (Envoy details "wasm_close_stream"). */
  closeRequest(): WasmResult {
    return hc.closeStream(StreamType.HttpRequest);
  }
  closeResponse(): WasmResult {
    return hc.closeStream(StreamType.HttpResponse);
  }
  /** Replies locally instead of the upstream (e.g. 403); return StopIteration from the callback. */
  sendLocalResponse(
    status: u32, details: string, body: ArrayBuffer | null, headers: Array<HeaderPair> = [],
    grpcStatus: GrpcStatus = GrpcStatus.InvalidCode,
  ): WasmResult {
    return hc.sendLocalResponse(status, details, body, headers, grpcStatus);
  }
}

/**
 * One per TCP connection (Envoy network filter). Read/modify the bytes with `downstreamData` /
 * `upstreamData` (maps.ts) inside the data callbacks. StopIteration keeps the bytes in Envoy's
 * buffer: the next callback sees them again plus the new ones; continueDownstream() lets the held
 * downstream bytes go on (upstream bytes only go on with a later Continue). At close Envoy calls
 * onDownstreamConnectionClose, then onDone, onLog, onDelete.
 */
export class TcpContext extends Context {
  constructor(id: u32, public readonly root: RootContext) {
    super(id, root.id);
  }
  onNewConnection(): FilterStatus {
    return FilterStatus.Continue;
  }
  onDownstreamData(dataSize: u32, endOfStream: bool): FilterStatus {
    return FilterStatus.Continue;
  }
  onUpstreamData(dataSize: u32, endOfStream: bool): FilterStatus {
    return FilterStatus.Continue;
  }
  onDownstreamConnectionClose(peer: PeerType): void {}
  /** Envoy reports only an upstream end of stream, as PeerType.Unknown. */
  onUpstreamConnectionClose(peer: PeerType): void {}

  /** Passes downstream bytes held by StopIteration on (after the current callback). */
  continueDownstream(): WasmResult {
    return hc.continueStream(StreamType.Downstream);
  }
  /** Closes the client connection after the current callback (Envoy details "wasm_downstream_close"). */
  closeDownstream(): WasmResult {
    return hc.closeStream(StreamType.Downstream);
  }
  /** Also closes the client connection (Envoy details "wasm_upstream_close"). */
  closeUpstream(): WasmResult {
    return hc.closeStream(StreamType.Upstream);
  }
}
