// One TCP connection through a network Wasm filter, driven the way Envoy drives it
// (extensions/common/wasm/context.cc onNewConnection/onData/onWrite/onEvent/onCloseTCP and
// network/wasm FilterConfig::createFilter; cpp-host context.cc onDownstreamData & co.):
// - the context is created when the connection is accepted (on_context_create, on_new_connection);
// - downstream bytes sit in the connection's read buffer: Continue passes the whole buffer to the
//   next filter (tcp_proxy ⇒ upstream), StopIteration leaves it there, so the next read calls the
//   filter again with the accumulated size; continue_stream(Downstream) (deferred) passes it on
//   without calling the filter again (continueReading resumes after this filter);
// - upstream bytes (onWrite) likewise; there is no continue for them (continue_stream(Upstream) ⇒
//   Unimplemented), an end_stream write reports proxy_on_upstream_connection_close(Unknown);
// - any non-zero result is StopIteration (no "next iteration stopped" override on the network path);
// - the downstream close event calls proxy_on_downstream_connection_close(peer) and then
//   proxy_on_done → proxy_on_log → proxy_on_delete (onCloseTCP: done BEFORE log, unlike HTTP);
// - close_stream(Downstream|Upstream) closes the downstream connection after the callback
//   (FlushWrite, details wasm_downstream_close / wasm_upstream_close) ⇒ LocalClose;
// - a failed VM: fail-open lets bytes through untouched, otherwise the connection is closed
//   (failStream(Downstream) + failStream(Upstream)) and the callback reports StopIteration.
import { BufferType, StreamType } from './abi.js';
import { toValue, type PropertyInit, type PropertyScope, type Value } from './properties.js';
import type { BufferRef } from './hostcalls.js';
import type { LogRecord, Plugin } from './plugin.js';
import { ConnectionContext, type RootContext, type WasmVm } from './vm.js';

/** Envoy's Network::FilterStatus, or why the filter was not called. */
export type NetworkStatus = 'Continue' | 'StopIteration' | 'Skipped';
export type ConnectionPhase = 'new_connection' | 'downstream_data' | 'upstream_data';
/** CloseType / PeerType as the module receives it: Unknown 0, Local 1, Remote 2. */
export type Peer = 'unknown' | 'local' | 'remote';
const PEER_CODE: Record<Peer, number> = { unknown: 0, local: 1, remote: 2 };

export interface ConnectionAction {
  phase: ConnectionPhase;
  status: NetworkStatus;
  /** The integer the module returned (undefined if not called). */
  raw?: number;
}

/** Bytes that passed the filter in one direction, and whether that direction ended. */
export interface Flow {
  data: Buffer;
  ended: boolean;
}

export interface ConnectionOptions {
  /** Worker VM index (default 0). */
  worker?: number;
  /** Connection properties, e.g. { 'source.address': '10.0.0.1:5555', 'upstream.address': '10.0.0.9:80' }. */
  properties?: Record<string, PropertyInit>;
  connectionId?: number;
}

type Mode = 'normal' | 'bypass' | 'fail';

/** One direction's buffer as Envoy holds it for the filter. */
class Held {
  data: Buffer = Buffer.alloc(0);
  /** Envoy's network_*_data_buffer_ pointer: set by a data callback, cleared when it returns Continue. */
  exposed = false;
  eos = false;
  readonly passed: Flow = { data: Buffer.alloc(0), ended: false };

  /** The filter chain went on: everything held goes to the next filter / the peer. */
  pass(): void {
    this.passed.data = Buffer.concat([this.passed.data, this.data]);
    this.passed.ended ||= this.eos;
    this.data = Buffer.alloc(0);
  }
}

export class Connection implements PropertyScope {
  readonly actions: ConnectionAction[] = [];
  readonly properties = new Map<string, Value>();
  readonly filterState = new Map<string, Buffer>();
  readonly connectionId: number;
  /** Set once the downstream connection closed: who closed it and Envoy's close details. */
  closed?: { by: 'local' | 'remote'; details: string };
  ctx?: ConnectionContext;
  private readonly read = new Held();
  private readonly write = new Held();
  /** Envoy's in_vm_context_created_ (set even when the VM is failed: onCreate sets it unconditionally). */
  private created = false;
  /** tcp_connection_closed_: done/log/delete ran. */
  private finished = false;

  constructor(
    readonly plugin: Plugin,
    readonly vm: WasmVm,
    readonly root: RootContext | null,
    private readonly mode: Mode,
    opts: ConnectionOptions,
  ) {
    for (const [k, v] of Object.entries(opts.properties ?? {})) this.properties.set(k, toValue(v));
    this.connectionId = opts.connectionId ?? 1;
  }

  // ------------------------------------------------------------------ observations

  /** What reached the upstream (tcp_proxy) from the client. */
  get upstream(): Flow {
    return this.read.passed;
  }
  /** What reached the client from the upstream. */
  get downstream(): Flow {
    return this.write.passed;
  }
  get contextId(): number | undefined {
    return this.ctx?.id;
  }
  /** Log lines written while this connection's context was current or effective. */
  get logs(): LogRecord[] {
    return this.plugin.logs.filter((l) => l.contextId === this.ctx?.id && l.vm === this.vm.label);
  }

  // ------------------------------------------------------------------ driver

  /**
   * The listener accepted the connection: Context::onNewConnection (context creation +
   * proxy_on_new_connection). plugin.connection() calls it; a connection is accepted once.
   */
  accept(): NetworkStatus {
    if (this.actions.length) throw new Error(`connection ${this.connectionId} was already accepted`);
    if (this.mode === 'bypass') return this.record('new_connection', 'Skipped');
    this.created = true;
    if (this.mode === 'normal' && this.root && !this.vm.failed) {
      const id = this.vm.allocContextId();
      this.ctx = new ConnectionContext(this.vm, id, this.root, this);
      this.vm.contexts.set(id, this.ctx);
      this.vm.call(this.ctx, 'proxy_on_context_create', id, this.root.id);
      this.vm.drain();
    }
    return this.callFilter('new_connection', () =>
      this.vm.call(this.ctx!, 'proxy_on_new_connection', this.ctx!.id),
    );
  }

  /** Bytes from the client (Context::onData). Empty reads without end_stream do not reach filters. */
  downstreamData(chunk: string | Uint8Array, opts: { endOfStream?: boolean } = {}): NetworkStatus {
    const d = this.read;
    if (this.closed) return this.record('downstream_data', 'Skipped');
    d.data = Buffer.concat([d.data, Buffer.from(chunk)]);
    d.eos ||= !!opts.endOfStream;
    if (d.data.length === 0 && !d.eos) return this.record('downstream_data', 'Skipped');
    return this.dataPhase(d, 'downstream_data', 'proxy_on_downstream_data');
  }

  /** Bytes from the upstream written to the client (Context::onWrite); end_stream also reports the upstream close. */
  upstreamData(chunk: string | Uint8Array, opts: { endOfStream?: boolean } = {}): NetworkStatus {
    const d = this.write;
    if (this.closed) return this.record('upstream_data', 'Skipped');
    d.data = Buffer.concat([d.data, Buffer.from(chunk)]);
    d.eos ||= !!opts.endOfStream;
    const status = this.dataPhase(d, 'upstream_data', 'proxy_on_upstream_data');
    if (opts.endOfStream && this.created && !this.closed) this.upstreamClose();
    return status;
  }

  /** The downstream connection closed (RemoteClose by the client, LocalClose by Envoy). */
  close(by: 'local' | 'remote' = 'remote', details = ''): void {
    if (this.closed) return;
    this.closed = { by, details };
    if (!this.created) return; // onEvent: `if (!in_vm_context_created_) return;`
    if (this.ctx) {
      this.vm.call(this.ctx, 'proxy_on_downstream_connection_close', this.ctx.id, PEER_CODE[by]);
      this.vm.drain();
    }
    this.finish();
  }

  // ------------------------------------------------------------------ buffers and stream control (hostcalls)

  /** Buffer DownstreamData/UpstreamData as Envoy's getBuffer returns it: the held bytes, else an empty read-only buffer. */
  getData(type: BufferType.DownstreamData | BufferType.UpstreamData): BufferRef {
    const d = type === BufferType.DownstreamData ? this.read : this.write;
    if (!d.exposed) return EMPTY;
    return { get: () => d.data, set: (b) => (d.data = b) };
  }

  /** continue_stream(Downstream): continueReading() after the VM call — the held bytes go upstream. */
  continueReading(): void {
    this.vm.defer(() => {
      if (!this.closed) this.read.pass();
    });
  }

  /** close_stream(Downstream|Upstream): both close the downstream connection after the VM call. */
  closeStream(type: StreamType.Downstream | StreamType.Upstream): void {
    const details = type === StreamType.Downstream ? 'wasm_downstream_close' : 'wasm_upstream_close';
    this.vm.defer(() => this.close('local', details));
  }

  // ------------------------------------------------------------------ internals

  private record(phase: ConnectionPhase, status: NetworkStatus, raw?: number): NetworkStatus {
    this.actions.push({ phase, status, raw });
    return status;
  }

  /** CHECK_FAIL_NET: fail-open ⇒ Continue; otherwise close the connection once ⇒ StopIteration. */
  private failed(): NetworkStatus | null {
    if (this.mode === 'bypass') return 'Continue';
    if (this.mode === 'normal' && !this.vm.failed) return null;
    if (this.plugin.failurePolicy === 'fail_open') return 'Continue';
    this.close('local');
    return 'StopIteration';
  }

  /** Runs one filter callback with the fail checks before and after it; `call` is skipped without a context. */
  private callFilter(phase: ConnectionPhase, call: () => number | undefined): NetworkStatus {
    const before = this.failed();
    if (before) return this.record(phase, before);
    if (!this.ctx) return this.record(phase, 'Continue');
    const raw = call();
    const after = this.failed();
    const status: NetworkStatus = after ?? (raw === undefined || raw === 0 ? 'Continue' : 'StopIteration');
    this.record(phase, status, raw);
    this.vm.drain(); // DeferAfterCallActions: runs before the filter manager looks at the status
    return status;
  }

  private dataPhase(d: Held, phase: ConnectionPhase, fn: string): NetworkStatus {
    if (!this.created) {
      d.pass(); // no filter in the chain (fail-open bypass) or the context was never created
      return this.record(phase, 'Continue');
    }
    if (this.ctx) d.exposed = true;
    const status = this.callFilter(phase, () =>
      this.vm.call(this.ctx!, fn, this.ctx!.id, d.data.length, d.eos),
    );
    if (status === 'Continue') {
      d.exposed = false;
      // A connection closed during the callback stops the chain (connection state != Open).
      if (!this.closed) d.pass();
    }
    return status;
  }

  /** onWrite with end_stream: there is no upstream close event; Envoy reports it as Unknown. */
  private upstreamClose(): void {
    if (this.ctx) {
      this.vm.call(this.ctx, 'proxy_on_upstream_connection_close', this.ctx.id, PEER_CODE.unknown);
      this.vm.drain();
    }
  }

  /** onCloseTCP: proxy_on_done, proxy_on_log, proxy_on_delete, once. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const ctx = this.ctx;
    if (!ctx) return;
    this.vm.call(ctx, 'proxy_on_done', ctx.id);
    this.vm.call(ctx, 'proxy_on_log', ctx.id);
    this.vm.call(ctx, 'proxy_on_delete', ctx.id);
    this.vm.contexts.delete(ctx.id);
    this.vm.drain();
  }
}

const EMPTY: BufferRef = { get: () => Buffer.alloc(0) };
