// Outgoing calls: proxy_http_call and the gRPC calls/streams (Envoy context.cc httpCall/grpcCall,
// reference §2.8–2.9). A call belongs to the ROOT context that issued it (even from a stream),
// its response is delivered non-reentrantly, and the test either answers it (host.pendingCalls)
// or routes the cluster to a real local HTTP server.
import { request as httpRequest } from 'node:http';
import { WasmResult } from './abi.js';
import { HeaderMap, type Pair, type HeadersInit } from './pairs.js';
import type { Context, RootContext, WasmVm } from './vm.js';

export interface ClusterOptions {
  /** Route calls to a real HTTP server (e.g. `http://127.0.0.1:8090`); otherwise the test answers them. */
  url?: string;
  /** Model Envoy's async client refusing the send (proxy_http_call ⇒ InternalFailure). */
  sendFails?: boolean;
}

export interface HttpCallResponse {
  status: number;
  headers?: HeadersInit;
  body?: string | Uint8Array;
  trailers?: HeadersInit;
}

/** One proxy_http_call as the test sees it. */
export class HttpCallRecord {
  state: 'pending' | 'answered' | 'reset' | 'cancelled' = 'pending';
  /** Set while proxy_on_http_call_response runs (what the response maps and buffer read). */
  response: { headers: HeaderMap; body: Buffer; trailers: HeaderMap } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private abort: (() => void) | undefined;

  constructor(
    readonly router: CallRouter,
    readonly root: RootContext,
    readonly token: number,
    readonly cluster: string,
    readonly headers: HeaderMap,
    readonly body: Buffer,
    readonly trailers: HeaderMap,
    readonly timeoutMs: number,
    /** Host clock (ms) at which the call times out; undefined = no timeout (timeout_ms 0). */
    readonly deadline: number | undefined,
  ) {}

  get method(): string | undefined {
    return this.headers.get(':method')?.toString();
  }
  get path(): string | undefined {
    return this.headers.get(':path')?.toString();
  }
  get authority(): string | undefined {
    return this.headers.get(':authority')?.toString();
  }
  bodyText(): string {
    return this.body.toString('utf8');
  }

  /** Answers the call: the filter's root gets proxy_on_http_call_response. */
  respond(r: HttpCallResponse): void {
    if (this.state !== 'pending')
      throw new Error(`http call ${this.token} to ${this.cluster} is already ${this.state}`);
    this.state = 'answered';
    this.finish();
    const headers = HeaderMap.from(r.headers);
    headers.entries.unshift([':status', Buffer.from(String(r.status))]);
    const body =
      r.body === undefined
        ? Buffer.alloc(0)
        : typeof r.body === 'string'
          ? Buffer.from(r.body)
          : Buffer.from(r.body);
    this.router.deliverHttp(this, { headers, body, trailers: HeaderMap.from(r.trailers) });
  }
  /** Stream reset: callback with n_headers=0 and get_status = BrokenConnection "reset". */
  reset(): void {
    if (this.state !== 'pending')
      throw new Error(`http call ${this.token} to ${this.cluster} is already ${this.state}`);
    this.state = 'reset';
    this.finish();
    this.router.deliverHttp(this, null);
  }
  /** Cancelled by the host (root context gone, VM failed): no callback. */
  cancel(): void {
    if (this.state !== 'pending') return;
    this.state = 'cancelled';
    this.finish();
  }
  setTransport(timer: NodeJS.Timeout | undefined, abort: (() => void) | undefined): void {
    this.timer = timer;
    this.abort = abort;
  }
  private finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.abort?.();
    this.abort = undefined;
    this.router.forget(this);
  }
}

/** One gRPC call or stream; the test drives the server side. */
export class GrpcCallRecord {
  state: 'open' | 'closed' | 'cancelled' = 'open';
  readonly sent: Buffer[] = [];
  localClosed = false;
  remoteClosed = false;
  constructor(
    readonly router: CallRouter,
    readonly root: RootContext,
    readonly token: number,
    readonly cluster: string,
    readonly service: string,
    readonly method: string,
    readonly metadata: HeaderMap,
    readonly isStream: boolean,
    readonly timeoutMs: number,
  ) {}
  receiveInitialMetadata(md: HeadersInit): void {
    this.router.deliverGrpc(this, 'proxy_on_grpc_receive_initial_metadata', { initial: HeaderMap.from(md) });
  }
  receive(message: Uint8Array | string): void {
    this.router.deliverGrpc(this, 'proxy_on_grpc_receive', { message: Buffer.from(message) });
  }
  receiveTrailingMetadata(md: HeadersInit): void {
    this.router.deliverGrpc(this, 'proxy_on_grpc_receive_trailing_metadata', {
      trailing: HeaderMap.from(md),
    });
  }
  /** Remote close with a gRPC status (0..16); get_status in the callback returns (status, message). */
  close(status: number, message = ''): void {
    this.remoteClosed = true;
    this.state = 'closed';
    this.router.deliverGrpc(this, 'proxy_on_grpc_close', {}, { code: status, message });
  }
}

export interface HttpCallRequest {
  cluster: string;
  headers: Pair[];
  body: Buffer;
  trailers: Pair[];
  timeoutMs: number;
}
export interface GrpcCallRequest {
  upstream: Buffer;
  service: string;
  method: string;
  metadata: Pair[];
  message: Buffer;
  timeoutMs: number;
  stream: boolean;
}

/** Reads envoy.config.core.v3.GrpcService{envoy_grpc{cluster_name}} (fields 1.1) if `b` is one. */
function grpcServiceCluster(b: Buffer): string | undefined {
  const len = (buf: Buffer, at: number): [number, number] | undefined => {
    let v = 0;
    for (let shift = 0, i = at; i < buf.length && shift < 35; shift += 7, i++) {
      v |= (buf[i]! & 0x7f) << shift;
      if (!(buf[i]! & 0x80)) return [v, i + 1];
    }
    return undefined;
  };
  if (b[0] !== 0x0a) return undefined;
  const outer = len(b, 1);
  if (!outer || outer[1] + outer[0] !== b.length) return undefined;
  const inner = b.subarray(outer[1]);
  if (inner[0] !== 0x0a) return undefined;
  const name = len(inner, 1);
  return name && name[1] + name[0] <= inner.length
    ? inner.subarray(name[1], name[1] + name[0]).toString('utf8')
    : undefined;
}

export class CallRouter {
  readonly clusters = new Map<string, ClusterOptions>();
  /** http calls waiting for the test (clusters without a url), oldest first. */
  readonly pending: HttpCallRecord[] = [];
  /** every http call ever made, for assertions (unless the host was loaded with callLog: false). */
  readonly httpLog: HttpCallRecord[] = [];
  readonly grpc: GrpcCallRecord[] = [];
  private readonly inflight = new Set<HttpCallRecord>();

  constructor(
    private readonly nowMs: () => number,
    /** Whether httpLog keeps every call (HostOptions.callLog). */
    private readonly keepLog = true,
  ) {}

  httpCall(vm: WasmVm, ctx: Context, req: HttpCallRequest): { token: number } | WasmResult {
    if (req.timeoutMs < 0) return WasmResult.BadArgument;
    const cluster = this.clusters.get(req.cluster);
    if (!cluster) return WasmResult.BadArgument;
    const headers = HeaderMap.from(req.headers.map(([k, v]) => [k, v] as const));
    if (!headers.get(':path') || !headers.get(':method') || !headers.get(':authority'))
      return WasmResult.BadArgument;
    if (cluster.sendFails) return WasmResult.InternalFailure;
    const root = vm.rootOf(ctx);
    if (!root) return WasmResult.BadArgument;
    if (req.body.length) headers.replace('content-length', Buffer.from(String(req.body.length)));
    const token = vm.nextHttpCallToken();
    const deadline = req.timeoutMs > 0 ? this.nowMs() + req.timeoutMs : undefined;
    const call = new HttpCallRecord(
      this,
      root,
      token,
      req.cluster,
      headers,
      req.body,
      HeaderMap.from(req.trailers.map(([k, v]) => [k, v] as const)),
      req.timeoutMs,
      deadline,
    );
    vm.httpCalls.set(token, call);
    if (this.keepLog) this.httpLog.push(call);
    this.inflight.add(call);
    if (cluster.url) this.sendReal(call, cluster.url);
    else this.pending.push(call);
    return { token };
  }

  /** node:http transport; connect errors become 503 and timeouts 504, as Envoy's async client reports them. */
  private sendReal(call: HttpCallRecord, base: string): void {
    const url = new URL(call.path ?? '/', base);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of call.headers.entries)
      if (!k.startsWith(':')) ((headers[k] ??= []) as string[]).push(v.toString('latin1'));
    headers.host = call.authority ?? url.host; // node:http wants a string here, not a list
    // agent: false — one connection per call, closed afterwards, so no idle socket outlives a test.
    const req = httpRequest(url, { method: call.method, headers, agent: false });
    const fail = (status: number, body: string) => {
      if (call.state === 'pending') call.respond({ status, body, headers: { 'content-type': 'text/plain' } });
    };
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (call.state !== 'pending') return;
        const h: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          h.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        const t: [string, string][] = [];
        for (let i = 0; i < res.rawTrailers.length; i += 2)
          t.push([res.rawTrailers[i]!.toLowerCase(), res.rawTrailers[i + 1]!]);
        call.respond({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks), trailers: t });
      });
      res.on('error', () => call.state === 'pending' && call.reset());
    });
    req.on('error', () =>
      fail(
        503,
        'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
      ),
    );
    const timer =
      call.timeoutMs > 0
        ? setTimeout(() => fail(504, 'upstream request timeout'), call.timeoutMs)
        : undefined;
    call.setTransport(timer, () => req.destroy());
    req.end(call.body);
  }

  /** Host clock moved: pending test-answered calls past their deadline get Envoy's 504. */
  expire(nowMs: number): void {
    for (const call of [...this.pending]) {
      if (call.deadline !== undefined && call.deadline <= nowMs)
        call.respond({
          status: 504,
          body: 'upstream request timeout',
          headers: { 'content-type': 'text/plain' },
        });
    }
  }

  /** Some call routed to a real server is still waiting for its answer. */
  waitingForRealServer(): boolean {
    for (const c of this.inflight) if (c.state === 'pending' && this.clusters.get(c.cluster)?.url) return true;
    return false;
  }

  forget(call: HttpCallRecord): void {
    this.inflight.delete(call);
    const i = this.pending.indexOf(call);
    if (i >= 0) this.pending.splice(i, 1);
    call.root.vm.httpCalls.delete(call.token);
  }

  deliverHttp(call: HttpCallRecord, response: HttpCallRecord['response']): void {
    const { root } = call;
    const vm = root.vm;
    vm.whenIdle(() => {
      if (root.deleted || vm.failed) return;
      root.httpCallResponse = call;
      call.response = response;
      if (!response) vm.status = { code: WasmResult.BrokenConnection, message: 'reset' };
      vm.call(
        root,
        'proxy_on_http_call_response',
        root.id,
        call.token,
        response?.headers.size ?? 0,
        response?.body.length ?? 0,
        response?.trailers.size ?? 0,
      );
      root.httpCallResponse = null;
      call.response = null;
    });
  }

  grpcCall(vm: WasmVm, ctx: Context, req: GrpcCallRequest): { token: number } | WasmResult {
    const cluster = grpcServiceCluster(req.upstream) ?? req.upstream.toString('utf8');
    if (!this.clusters.has(cluster)) return WasmResult.ParseFailure;
    const root = vm.rootOf(ctx);
    if (!root) return WasmResult.BadArgument;
    const token = vm.nextGrpcToken(req.stream);
    const call = new GrpcCallRecord(
      this,
      root,
      token,
      cluster,
      req.service,
      req.method,
      HeaderMap.from(req.metadata.map(([k, v]) => [k, v] as const)),
      req.stream,
      req.timeoutMs,
    );
    if (!req.stream) call.sent.push(req.message);
    this.grpc.push(call);
    vm.grpcCalls.set(token, call);
    return { token };
  }

  private grpcOf(vm: WasmVm, token: number): GrpcCallRecord | undefined {
    const c = vm.grpcCalls.get(token);
    return c && c.state !== 'cancelled' && !(c.localClosed && c.remoteClosed) ? c : undefined;
  }

  grpcSend(vm: WasmVm, token: number, message: Buffer, endStream: boolean): WasmResult {
    if ((token & 3) !== 2) return WasmResult.BadArgument;
    const call = this.grpcOf(vm, token);
    if (!call) return WasmResult.NotFound;
    call.sent.push(message);
    if (endStream) call.localClosed = true;
    return WasmResult.Ok;
  }

  /** proxy_grpc_close (cancel=false) / proxy_grpc_cancel (cancel=true) per token kind. */
  grpcClose(vm: WasmVm, token: number, cancel: boolean): WasmResult {
    const kind = token & 3;
    if (kind !== 1 && kind !== 2) return WasmResult.BadArgument;
    const call = this.grpcOf(vm, token);
    if (!call) return WasmResult.NotFound;
    if (kind === 1 || cancel) call.state = 'cancelled';
    else call.localClosed = true;
    return WasmResult.Ok;
  }

  /** Server-side events for a call the filter cancelled/closed are dropped, as Envoy drops them. */
  deliverGrpc(
    call: GrpcCallRecord,
    fn: string,
    payload: NonNullable<RootContext['grpcReceive']>,
    status?: { code: number; message: string },
  ): void {
    const { root } = call;
    const vm = root.vm;
    if (call.state === 'cancelled') return;
    vm.whenIdle(() => {
      if (root.deleted || vm.failed) return;
      root.grpcReceive = payload;
      if (status) vm.status = status;
      const arg =
        payload.initial?.size ?? payload.trailing?.size ?? payload.message?.length ?? status?.code ?? 0;
      vm.call(root, fn, root.id, call.token, arg);
      root.grpcReceive = null;
    });
  }

  /** Cancels everything a root context owns (Envoy's ~Context). */
  cancelOwnedBy(root: RootContext): void {
    for (const c of [...this.inflight]) if (c.root === root) c.cancel();
    for (const g of this.grpc) if (g.root === root && g.state === 'open') g.state = 'cancelled';
  }
}
