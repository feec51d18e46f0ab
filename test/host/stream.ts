// One HTTP stream through the Wasm filter, driven the way Envoy's filter manager and wasm
// Context (context.cc decodeHeaders/decodeData/…) drive it: lazy context creation, header-map
// windows, status conversion, body buffering and limits, deferred local replies and
// continue/close, failure policy, and log → done → delete at the end (reference §2.4–2.7, §2.12).
import {
  DATA_STATUS,
  HEADERS_STATUS,
  MapType,
  StreamType,
  BufferType,
  type DataStatus,
  type HeadersStatus,
  type TrailersStatus,
} from './abi.js';
import { isGrpcRequest, prepareLocalReply } from './local-reply.js';
import { HeaderMap, type HeadersInit, type Pair } from './pairs.js';
import { toValue, type PropertyInit, type Value } from './properties.js';
import type { BufferRef } from './hostcalls.js';
import type { SelectedRoute } from './routes.js';
import type { Plugin, LogRecord } from './plugin.js';
import { StreamContext, type RootContext, type WasmVm } from './vm.js';

export type PhaseName =
  | 'request_metadata'
  | 'response_metadata'
  | 'request_headers'
  | 'request_body'
  | 'request_trailers'
  | 'response_headers'
  | 'response_body'
  | 'response_trailers';
/** What the filter manager did with a phase: an Envoy filter status, or why the filter was not called. */
export type PhaseStatus = HeadersStatus | DataStatus | TrailersStatus | 'Buffered' | 'Skipped';

export interface Action {
  phase: PhaseName;
  status: PhaseStatus;
  /** The integer the module returned, before Envoy's conversion (undefined if not called). */
  raw?: number;
}

export interface LocalReply {
  status: number;
  body: string;
  headers: Record<string, string>;
  details: string;
  /** gRPC status given with the reply (undefined when the module passed -1 / out of range; a gRPC request then gets one mapped from the HTTP status). */
  grpcStatus?: number;
  /** true when Envoy itself replied (buffer limit, wasm failure), not the filter. */
  byEnvoy: boolean;
}

/** What passed the filter in one direction (request: towards the upstream; response: to the client). */
export interface Passed {
  headers?: HeaderMap;
  body: Buffer;
  trailers?: HeaderMap;
  ended: boolean;
}

export interface StreamOptions {
  /** Worker VM index (default 0). */
  worker?: number;
  /** Stream properties, e.g. { 'xds.route_name': 'r1', 'source.address': '10.0.0.1:5555' }. */
  properties?: Record<string, PropertyInit>;
  /** request.protocol (default HTTP/1.1). */
  protocol?: string;
  connectionId?: number;
}

type Stopped = 'none' | 'headers-all' | 'headers' | 'body' | 'trailers';
type Mode = 'normal' | 'bypass' | 'fail';

/** One direction of the stream (decoder or encoder side) as seen by the Wasm filter. */
class Direction {
  headers: HeaderMap | null = null;
  trailers: HeaderMap | null = null;
  headersHeld = false;
  trailersHeld = false;
  /** Envoy's buffered data for this filter (filter manager buffer). */
  buffered: Buffer = Buffer.alloc(0);
  /** The chunk of the current body callback when not buffering. */
  chunk: Buffer | null = null;
  inBodyCallback = false;
  bodyEos = false;
  /** buffering_request_body_: last body status was StopIterationAndBuffer. */
  buffering = false;
  stopped: Stopped = 'none';
  /** Headers returned StopAllIterationAndBuffer: Envoy's buffer limit applies while stopped. */
  limitWhileStopped = false;
  ended = false;
  pendingTrailers: HeaderMap | null = null;
  readonly passed: Passed = { body: Buffer.alloc(0) as Buffer, ended: false };

  constructor(readonly side: 'request' | 'response') {}

  get phases(): { headers: PhaseName; body: PhaseName; trailers: PhaseName } {
    return this.side === 'request'
      ? { headers: 'request_headers', body: 'request_body', trailers: 'request_trailers' }
      : { headers: 'response_headers', body: 'response_body', trailers: 'response_trailers' };
  }

  /** Lets everything Envoy holds for this filter go on (continueDecoding/continueEncoding). */
  flush(): void {
    if (!this.passed.headers && this.headers) this.passed.headers = this.headers;
    this.headersHeld = false;
    if (this.buffered.length) this.passed.body = Buffer.concat([this.passed.body, this.buffered]);
    this.buffered = Buffer.alloc(0);
    this.buffering = false;
    if (this.trailers && !this.pendingTrailers) {
      this.passed.trailers = this.trailers;
      this.trailersHeld = false;
    }
    if (this.ended && !this.pendingTrailers) this.passed.ended = true;
    this.stopped = 'none';
  }
}

export class Stream {
  readonly actions: Action[] = [];
  localReply?: LocalReply;
  /** Set when the stream was reset (close_stream, limits after the response started); holds the details. */
  resetReason?: string;
  readonly request = new Direction('request');
  readonly response = new Direction('response');
  readonly properties = new Map<string, Value>();
  readonly filterState = new Map<string, Buffer>();
  readonly protocol: string;
  readonly connectionId: number;
  readonly startNs: bigint;
  completeNs?: bigint;
  responseCode?: number;
  responseCodeDetails?: string;
  requestBytes = 0;
  requestHeaderBytes = 0;
  responseBytes = 0;
  inAccessLog = false;
  /** The route the connection manager selected from the plugin's route table (at request headers). */
  route?: SelectedRoute;
  ctx?: StreamContext;
  private ended = false;
  private failureReplySent = false;
  private sendingLocalReply = false;

  constructor(
    readonly plugin: Plugin,
    readonly vm: WasmVm,
    readonly root: RootContext | null,
    private readonly mode: Mode,
    opts: StreamOptions,
  ) {
    for (const [k, v] of Object.entries(opts.properties ?? {})) this.properties.set(k, toValue(v));
    this.protocol = opts.protocol ?? 'HTTP/1.1';
    this.connectionId = opts.connectionId ?? 1;
    this.startNs = plugin.host.nowNs();
  }

  // ------------------------------------------------------------------ observations

  /** What reached the upstream service (headers, body, trailers, whether the request ended). */
  get upstream(): Passed {
    return this.request.passed;
  }
  /** What reached the client. */
  get downstream(): Passed {
    return this.response.passed;
  }
  /** The context id in the VM, once created. */
  get contextId(): number | undefined {
    return this.ctx?.id;
  }
  /** Log lines written while this stream's context was current or effective. */
  get logs(): LogRecord[] {
    return this.plugin.logs.filter((l) => l.contextId === this.ctx?.id && l.vm === this.vm.label);
  }
  get requestContentLength(): number | undefined {
    const v = this.request.headers?.get('content-length');
    return v === undefined ? undefined : Number(v.toString());
  }

  // ------------------------------------------------------------------ driver (downstream side)

  requestHeaders(init: HeadersInit, opts: { endOfStream?: boolean } = {}): PhaseStatus {
    const d = this.request;
    d.headers = HeaderMap.from(init);
    d.ended = !!opts.endOfStream;
    this.requestHeaderBytes = d.headers.byteSize();
    this.route ??= this.plugin.routeTable?.select(d.headers);
    return this.headersPhase(d);
  }
  requestBody(chunk: string | Uint8Array, opts: { endOfStream?: boolean } = {}): PhaseStatus {
    const data = Buffer.from(chunk);
    this.requestBytes += data.length;
    return this.bodyPhase(this.request, data, !!opts.endOfStream);
  }
  requestTrailers(init: HeadersInit): PhaseStatus {
    return this.trailersPhase(this.request, HeaderMap.from(init));
  }
  responseHeaders(init: HeadersInit, opts: { endOfStream?: boolean } = {}): PhaseStatus {
    if (this.localReply || this.resetReason) return this.skip('response_headers');
    const d = this.response;
    d.headers = HeaderMap.from(init);
    d.ended = !!opts.endOfStream;
    this.responseCode = Number(d.headers.get(':status')?.toString() ?? 0);
    return this.headersPhase(d);
  }
  responseBody(chunk: string | Uint8Array, opts: { endOfStream?: boolean } = {}): PhaseStatus {
    if (this.localReply) return this.skip('response_body');
    const data = Buffer.from(chunk);
    this.responseBytes += data.length;
    return this.bodyPhase(this.response, data, !!opts.endOfStream);
  }
  responseTrailers(init: HeadersInit): PhaseStatus {
    if (this.localReply) return this.skip('response_trailers');
    return this.trailersPhase(this.response, HeaderMap.from(init));
  }
  /** An HTTP/2 METADATA frame: proxy_on_request_metadata(ctx, n); Envoy ignores the result. */
  requestMetadata(init: HeadersInit): PhaseStatus {
    return this.metadataPhase('request_metadata', 'proxy_on_request_metadata', HeaderMap.from(init));
  }
  responseMetadata(init: HeadersInit): PhaseStatus {
    return this.metadataPhase('response_metadata', 'proxy_on_response_metadata', HeaderMap.from(init));
  }

  /**
   * Stream end: access log (proxy_on_log, creating the context first if no callback ran), then
   * filter destroy (proxy_on_done — result ignored for streams — then proxy_on_delete).
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.completeNs = this.plugin.host.nowNs();
    if (this.mode !== 'normal' || this.vm.failed || !this.root) return;
    this.ensureContext();
    const ctx = this.ctx!;
    this.inAccessLog = true;
    this.vm.call(ctx, 'proxy_on_log', ctx.id);
    this.inAccessLog = false;
    this.vm.drain();
    this.vm.call(ctx, 'proxy_on_done', ctx.id);
    this.vm.call(ctx, 'proxy_on_delete', ctx.id);
    this.vm.contexts.delete(ctx.id);
    this.vm.drain();
  }

  // ------------------------------------------------------------------ map / buffer windows (used by hostcalls)

  private dirOfMap(type: MapType): Direction {
    return type === MapType.HttpRequestHeaders || type === MapType.HttpRequestTrailers
      ? this.request
      : this.response;
  }

  /** Envoy getConstMap: the map while Envoy holds it, or in on_log the logged maps. */
  getConstMap(type: MapType): HeaderMap | null {
    const d = this.dirOfMap(type);
    const trailers = type === MapType.HttpRequestTrailers || type === MapType.HttpResponseTrailers;
    if (this.inAccessLog) {
      if (type === MapType.HttpRequestTrailers) return null;
      if (type === MapType.HttpRequestHeaders) return d.headers;
      return trailers ? (d.passed.trailers ?? null) : (d.passed.headers ?? null);
    }
    return trailers ? (d.trailersHeld ? d.trailers : null) : d.headersHeld ? d.headers : null;
  }

  /** Envoy getMap (mutations): also creates trailers from a body callback at end of stream. */
  getMap(type: MapType): HeaderMap | null {
    const d = this.dirOfMap(type);
    if (type === MapType.HttpRequestHeaders || type === MapType.HttpResponseHeaders)
      return d.headersHeld ? d.headers : null;
    if (!d.trailers && d.inBodyCallback && d.bodyEos) {
      d.trailers = new HeaderMap();
      d.trailersHeld = true;
    }
    return d.trailersHeld ? d.trailers : null;
  }

  getBody(type: BufferType): BufferRef | null {
    const d = type === BufferType.HttpRequestBody ? this.request : this.response;
    if (d.buffering || (d.inBodyCallback && d.chunk === null))
      return { get: () => d.buffered, set: (b) => (d.buffered = b) };
    if (d.inBodyCallback && d.chunk) return { get: () => d.chunk!, set: (b) => (d.chunk = b) };
    return null;
  }

  // ------------------------------------------------------------------ deferred stream control (hostcalls)

  sendLocalResponse(r: {
    status: number;
    details: string;
    body: Buffer;
    headers: Pair[];
    grpcStatus: number;
  }): void {
    const headers = r.headers.map(([k, v]) => [k.toLowerCase(), v.toString('utf8')] as [string, string]);
    this.vm.defer(() =>
      this.localResponse({
        status: r.status,
        body: r.body,
        headers,
        details: r.details.replace(/\s/g, '_'),
        grpcStatus: r.grpcStatus >= 0 && r.grpcStatus <= 16 ? r.grpcStatus : undefined,
        byEnvoy: false,
      }),
    );
  }

  continueStream(type: StreamType): void {
    // Envoy clears its request map pointers on continue (either direction), then resumes later.
    this.request.headersHeld = false;
    this.request.trailersHeld = false;
    const d = type === StreamType.HttpRequest ? this.request : this.response;
    this.vm.defer(() => this.resume(d));
  }

  /** Either direction resets the whole HTTP stream (Envoy resetStream()). */
  closeStream(): void {
    this.responseCodeDetails ??= 'wasm_close_stream';
    this.vm.defer(() => this.reset(this.responseCodeDetails ?? 'wasm_close_stream'));
  }

  // ------------------------------------------------------------------ phases

  private skip(phase: PhaseName): PhaseStatus {
    this.actions.push({ phase, status: 'Skipped' });
    return 'Skipped';
  }

  /** Whether the filter is out of the picture for this direction (bypass, reset, failure reply…). */
  private inactive(d: Direction): boolean {
    if (this.resetReason || this.ended) return true;
    if (d.side === 'request' && this.localReply) return true;
    if (d.side === 'response' && this.failureReplySent && !this.sendingLocalReply) return true;
    return false;
  }

  private ensureContext(): void {
    if (this.ctx || !this.root) return;
    const id = this.vm.allocContextId();
    this.ctx = new StreamContext(this.vm, id, this.root, this);
    this.vm.contexts.set(id, this.ctx);
    this.vm.call(this.ctx, 'proxy_on_context_create', id, this.root.id);
  }

  /** CHECK_FAIL: the VM is failed ⇒ fail-open passes, otherwise a 503 once. Returns true if handled. */
  private checkFail(): boolean {
    if (this.mode === 'bypass') return true;
    if (this.mode === 'normal' && !this.vm.failed) return false;
    if (this.plugin.failurePolicy === 'fail_open') return true;
    if (!this.failureReplySent) {
      this.failureReplySent = true;
      this.responseCodeDetails = 'wasm_fail_stream';
      this.localResponse({
        status: 503,
        body: '',
        headers: [],
        details: 'wasm_fail_stream',
        grpcStatus: 14,
        byEnvoy: true,
      });
    }
    return true;
  }

  /** The VM failed during this callback: fail-open lets the data on (Continue), otherwise `closed`. */
  private afterFail(
    d: Direction,
    phase: PhaseName,
    closed: PhaseStatus,
    raw: number | undefined,
  ): PhaseStatus {
    if (this.localReply || this.resetReason) return this.record(phase, closed, raw);
    d.flush();
    return this.record(phase, 'Continue', raw);
  }

  /** Metadata callbacks: the map is not readable through the ABI and the status is always Continue. */
  private metadataPhase(phase: PhaseName, fn: string, md: HeaderMap): PhaseStatus {
    if (this.resetReason || this.ended) return this.skip(phase);
    if (this.mode !== 'normal' || this.vm.failed || !this.ctx) return this.record(phase, 'Continue');
    const raw = this.vm.call(this.ctx, fn, this.ctx.id, md.size);
    this.record(phase, 'Continue', raw);
    this.vm.drain();
    return 'Continue';
  }

  /** `if (!in_vm_context_created_) return Continue;` — data passes the filter untouched. */
  private passThrough(d: Direction, phase: PhaseName): PhaseStatus {
    d.flush();
    return this.record(phase, 'Continue');
  }

  private record(phase: PhaseName, status: PhaseStatus, raw?: number): PhaseStatus {
    this.actions.push({ phase, status, raw });
    return status;
  }

  private headersPhase(d: Direction): PhaseStatus {
    const phase = d.phases.headers;
    if (this.inactive(d)) return this.skip(phase);
    if (d.side === 'request') this.ensureContextIfActive();
    if (this.checkFail()) {
      if (!this.localReply || d.side === 'response') d.flush();
      return this.record(
        phase,
        this.localReply && d.side === 'request' ? 'StopAllIterationAndWatermark' : 'Continue',
      );
    }
    const ctx = this.ctx;
    if (!ctx) return this.passThrough(d, phase); // no VM context: Envoy's filter just continues
    d.headersHeld = true;
    this.vm.nextIterationStopped = false;
    const fn = d.side === 'request' ? 'proxy_on_request_headers' : 'proxy_on_response_headers';
    const raw = this.vm.call(ctx, fn, ctx.id, d.headers!.size, d.ended);
    if (this.checkFail()) return this.afterFail(d, phase, 'StopAllIterationAndWatermark', raw);
    const status = this.convertHeaders(raw);
    if (status === 'Continue' || status === 'ContinueAndEndStream') d.flush();
    else if (status === 'StopIteration') d.stopped = 'headers';
    else {
      d.stopped = 'headers-all';
      d.limitWhileStopped = status === 'StopAllIterationAndBuffer';
    }
    this.record(phase, status === 'ContinueAndEndStream' ? 'Continue' : status, raw);
    this.vm.drain();
    return status === 'ContinueAndEndStream' ? 'Continue' : status;
  }

  private ensureContextIfActive(): void {
    if (this.mode === 'normal' && !this.vm.failed) this.ensureContext();
  }

  private convertHeaders(raw: number | undefined): HeadersStatus {
    if (raw === undefined) return 'Continue';
    if (this.vm.nextIterationStopped || raw > 4) return 'StopAllIterationAndWatermark';
    if (raw === 1 && !this.plugin.allowOnHeadersStopIteration) return 'StopAllIterationAndWatermark';
    return HEADERS_STATUS[raw]!;
  }

  private convertData(raw: number | undefined): DataStatus {
    if (raw === undefined) return 'Continue';
    if (this.vm.nextIterationStopped || raw > 3) return 'StopIterationNoBuffer';
    return DATA_STATUS[raw]!;
  }

  private bodyPhase(d: Direction, data: Buffer, eos: boolean): PhaseStatus {
    const phase = d.phases.body;
    if (this.inactive(d)) return this.skip(phase);
    d.ended = eos;
    if (this.checkFail()) {
      if (!(d.side === 'request' && this.localReply)) {
        d.buffered = Buffer.concat([d.buffered, data]);
        d.flush();
      }
      return this.record(phase, 'Continue');
    }
    if (!this.ctx) {
      d.buffered = Buffer.concat([d.buffered, data]);
      return this.passThrough(d, phase);
    }
    if (d.stopped === 'headers-all') {
      // StopAll from headers: Envoy buffers (watermarks) and dispatches to the filter on continue.
      d.buffered = Buffer.concat([d.buffered, data]);
      if (d.limitWhileStopped && d.buffered.length > this.plugin.bufferLimitBytes) {
        this.tooLarge(d);
        return this.record(phase, 'Skipped');
      }
      return this.record(phase, 'Buffered');
    }
    return this.deliverBody(d, data, eos);
  }

  private deliverBody(d: Direction, data: Buffer, eos: boolean): PhaseStatus {
    const phase = d.phases.body;
    const ctx = this.ctx!;
    if (d.buffering) {
      d.buffered = Buffer.concat([d.buffered, data]);
      if (d.buffered.length > this.plugin.bufferLimitBytes) {
        this.tooLarge(d);
        return this.record(phase, 'StopIterationAndBuffer');
      }
      d.chunk = null;
    } else {
      d.chunk = data;
    }
    d.inBodyCallback = true;
    d.bodyEos = eos;
    this.vm.nextIterationStopped = false;
    const size = d.buffering ? d.buffered.length : data.length;
    const fn = d.side === 'request' ? 'proxy_on_request_body' : 'proxy_on_response_body';
    const raw = this.vm.call(ctx, fn, ctx.id, size, eos);
    d.inBodyCallback = false;
    const chunk = d.chunk ?? Buffer.alloc(0);
    d.chunk = null;
    if (this.checkFail()) {
      if (!d.buffering) d.buffered = Buffer.concat([d.buffered, chunk]);
      return this.afterFail(d, phase, 'StopIterationNoBuffer', raw);
    }
    const status = this.convertData(raw);
    const wasBuffering = d.buffering;
    d.buffering = status === 'StopIterationAndBuffer';
    if (!wasBuffering && status !== 'StopIterationNoBuffer') d.buffered = Buffer.concat([d.buffered, chunk]);
    this.record(phase, status, raw);
    if (status === 'Continue') {
      d.flush();
    } else {
      d.stopped = 'body';
      if (status === 'StopIterationAndBuffer' && d.buffered.length > this.plugin.bufferLimitBytes)
        this.tooLarge(d);
    }
    this.vm.drain();
    return status;
  }

  private trailersPhase(d: Direction, trailers: HeaderMap): PhaseStatus {
    const phase = d.phases.trailers;
    if (this.inactive(d)) return this.skip(phase);
    d.ended = true;
    d.trailers = trailers;
    if (this.checkFail()) {
      if (!(d.side === 'request' && this.localReply)) d.flush();
      return this.record(phase, 'Continue');
    }
    if (!this.ctx) return this.passThrough(d, phase);
    if (d.stopped === 'headers-all') {
      d.pendingTrailers = trailers;
      return this.record(phase, 'Buffered');
    }
    return this.deliverTrailers(d);
  }

  private deliverTrailers(d: Direction): PhaseStatus {
    const phase = d.phases.trailers;
    const ctx = this.ctx!;
    d.pendingTrailers = null;
    d.trailersHeld = true;
    this.vm.nextIterationStopped = false;
    const fn = d.side === 'request' ? 'proxy_on_request_trailers' : 'proxy_on_response_trailers';
    const raw = this.vm.call(ctx, fn, ctx.id, d.trailers!.size);
    if (this.checkFail()) return this.afterFail(d, phase, 'StopIteration', raw);
    const status: TrailersStatus =
      raw === undefined || (raw === 0 && !this.vm.nextIterationStopped) ? 'Continue' : 'StopIteration';
    this.record(phase, status, raw);
    if (status === 'Continue') d.flush();
    else d.stopped = 'trailers';
    this.vm.drain();
    return status;
  }

  /** continueDecoding/continueEncoding, run after the VM call that asked for it. */
  private resume(d: Direction): void {
    if (this.inactive(d) || d.stopped === 'none') return;
    if (d.stopped !== 'headers-all') {
      d.flush();
      return;
    }
    // Headers were StopAll: pass headers on, then dispatch what Envoy buffered to this filter.
    d.passed.headers = d.headers ?? undefined;
    d.headersHeld = false;
    d.stopped = 'none';
    d.limitWhileStopped = false;
    const buffered = d.buffered;
    d.buffered = Buffer.alloc(0);
    const trailers = d.pendingTrailers;
    if (buffered.length || (d.ended && !trailers && !this.headersOnly(d))) {
      this.deliverBody(d, buffered, d.ended && !trailers);
      if (d.stopped !== 'none') return;
    }
    if (trailers) {
      d.trailers = trailers;
      this.deliverTrailers(d);
    } else if (d.ended) {
      d.passed.ended = true;
    }
  }

  private headersOnly(d: Direction): boolean {
    return d.side === 'request' ? this.requestBytes === 0 : this.responseBytes === 0;
  }

  /** Envoy's buffer limit: 413 on the request path; 500 (or a reset once the response started) on the response path. */
  private tooLarge(d: Direction): void {
    if (d.side === 'request') {
      this.localResponse({
        status: 413,
        body: 'Payload Too Large',
        headers: [],
        details: 'request_payload_too_large',
        byEnvoy: true,
      });
    } else if (this.response.passed.headers) {
      this.reset('response_payload_too_large');
    } else {
      this.localResponse({
        status: 500,
        body: 'Internal Server Error',
        headers: [],
        details: 'response_payload_too_large',
        byEnvoy: true,
      });
    }
  }

  private reset(details: string): void {
    if (this.resetReason) return;
    this.resetReason = details;
    this.responseCodeDetails ??= details;
  }

  /**
   * Envoy sendLocalReply: once response headers went downstream it can only reset; otherwise the
   * reply replaces the upstream response and (unless it is the wasm-failure reply or the reply is
   * sent while encoding) travels through this filter's response callbacks.
   */
  private localResponse(
    r: Omit<LocalReply, 'headers' | 'body'> & { headers: [string, string][]; body: string | Buffer },
  ): void {
    if (this.resetReason) return;
    if (this.response.passed.headers) {
      this.reset(r.details);
      return;
    }
    const encoding = this.response.headers !== null;
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
    const prepared = prepareLocalReply(
      { status: r.status, body, headers: r.headers, grpcStatus: r.grpcStatus },
      {
        grpc: isGrpcRequest(this.request.headers),
        head: this.request.headers?.get(':method')?.toString() === 'HEAD',
      },
    );
    const headers = prepared.headers;
    this.localReply = {
      status: r.status,
      body: body.toString('utf8'),
      headers: headers.toObject(),
      details: r.details,
      grpcStatus: r.grpcStatus,
      byEnvoy: r.byEnvoy,
    };
    this.responseCode = r.status;
    this.responseCodeDetails = r.details;
    // The request side stops here: nothing more goes upstream.
    this.request.headersHeld = false;
    this.request.stopped = 'none';
    const d = this.response;
    d.headers = headers;
    d.buffered = Buffer.alloc(0);
    d.ended = prepared.body.length === 0;
    if (encoding || r.details === 'wasm_fail_stream' || !this.ctx || this.vm.failed) {
      d.passed.headers = headers;
      d.passed.body = prepared.body;
      d.passed.ended = true;
      return;
    }
    this.sendingLocalReply = true;
    this.headersPhase(d);
    if (prepared.body.length > 0) this.bodyPhase(d, prepared.body, true);
    this.sendingLocalReply = false;
  }
}
