// The host functions a module imports (env.proxy_*, the WASI subset, emscripten helpers), each
// modelled on Envoy's context.cc / cpp-host exports.cc. Every call resolves the VM's effective
// context first; statuses are WasmResult values (reference §1.3, §1.4).
import { randomFillSync } from 'node:crypto';
import {
  BufferType,
  LogLevel,
  MapType,
  MetricType,
  PROXY_IMPORTS_0_2_1,
  StreamType,
  WASI_IMPORTS,
  WASI_MODULES,
  WasmResult,
} from './abi.js';
import { GuestMemoryError } from './memory.js';
import { decodePairs, type HeaderMap } from './pairs.js';
import { getProperty, setProperty } from './properties.js';
import { foreignFunction } from './foreign.js';
import type { ModuleInfo } from './wasm-module.js';
import { WasmTrap, type Context, type WasmVm } from './vm.js';

/** A buffer as the ABI sees it: readable bytes, optionally writable with Envoy's copyFrom rules. */
export interface BufferRef {
  get(): Buffer;
  set?(data: Buffer): void;
}

type Fn = (...args: never[]) => number | void;

const WASI_ERRNO = { SUCCESS: 0, BADF: 8, INVAL: 28, NOSYS: 52, NOTSUP: 58 } as const;

function mapOf(ctx: Context, type: number, mutable: boolean): HeaderMap | null {
  const root = ctx.kind === 'vm' ? undefined : ctx.root;
  switch (type) {
    case MapType.HttpRequestHeaders:
    case MapType.HttpRequestTrailers:
    case MapType.HttpResponseHeaders:
    case MapType.HttpResponseTrailers:
      return ctx.kind === 'stream'
        ? mutable
          ? ctx.stream.getMap(type)
          : ctx.stream.getConstMap(type)
        : null;
    case MapType.GrpcReceiveInitialMetadata:
      return mutable ? null : (root?.grpcReceive?.initial ?? null);
    case MapType.GrpcReceiveTrailingMetadata:
      return mutable ? null : (root?.grpcReceive?.trailing ?? null);
    case MapType.HttpCallResponseHeaders:
      return mutable ? null : (root?.httpCallResponse?.response?.headers ?? null);
    case MapType.HttpCallResponseTrailers:
      return mutable ? null : (root?.httpCallResponse?.response?.trailers ?? null);
    default:
      return null;
  }
}

function bufferOf(ctx: Context, type: number): BufferRef | null {
  const vm = ctx.vm;
  const root = ctx.kind === 'vm' ? undefined : ctx.root;
  switch (type) {
    case BufferType.VmConfiguration:
      return { get: () => vm.vmConfig };
    case BufferType.PluginConfiguration: {
      const config = root?.validating ?? (root?.configuring ? root.pluginConfig : null);
      return config ? { get: () => config } : null;
    }
    case BufferType.HttpRequestBody:
    case BufferType.HttpResponseBody:
      return ctx.kind === 'stream' ? ctx.stream.getBody(type) : null;
    case BufferType.HttpCallResponseBody: {
      const body = root?.httpCallResponse?.response?.body;
      return body ? { get: () => body } : null;
    }
    case BufferType.GrpcReceiveBuffer: {
      const msg = root?.grpcReceive?.message;
      return msg ? { get: () => msg } : null;
    }
    case BufferType.CallData:
      return { get: () => root?.callData ?? Buffer.alloc(0) };
    case BufferType.DownstreamData:
    case BufferType.UpstreamData:
      // Envoy's getBuffer always answers a buffer here: the connection's held bytes, else empty.
      return ctx.kind === 'connection' ? ctx.connection.getData(type) : { get: () => Buffer.alloc(0) };
    default:
      return null;
  }
}

/** Envoy Buffer::copyFrom for HTTP bodies (§2.6): start 0 ⇒ drain `len` then prepend; start ≥ size ⇒ append. */
function writeBuffer(buf: BufferRef, start: number, len: number, data: Buffer): WasmResult {
  if (!buf.set) return WasmResult.Unimplemented;
  const cur = buf.get();
  if (start === 0) {
    buf.set(len >= cur.length ? Buffer.from(data) : Buffer.concat([data, cur.subarray(len)]));
    return WasmResult.Ok;
  }
  if (start >= cur.length) {
    buf.set(Buffer.concat([cur, data]));
    return WasmResult.Ok;
  }
  return WasmResult.BadArgument;
}

function proxyImports(vm: () => WasmVm): Record<string, Fn> {
  const mem = () => vm().memory;
  const ctx = () => vm().effective;
  const out = (data: Uint8Array, ptrPtr: number, lenPtr: number): WasmResult =>
    mem().copyOut(data, ptrPtr, lenPtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
  const str = (p: number, l: number) => mem().readString(p, l);
  const streamOf = () => {
    const c = ctx();
    return c.kind === 'stream' ? c.stream : undefined;
  };

  return {
    proxy_log(level: number, p: number, l: number) {
      if (level >>> 0 > LogLevel.Critical) return WasmResult.BadArgument;
      if (level < vm().services.logLevel) return WasmResult.Ok; // dropped by Envoy's logger: do not even decode it
      vm().services.log(vm(), ctx(), level, str(p, l));
      return WasmResult.Ok;
    },
    proxy_get_log_level(ptr: number) {
      mem().writeU32(ptr, vm().services.logLevel);
      return WasmResult.Ok;
    },
    proxy_get_status(codePtr: number, msgPtrPtr: number, msgLenPtr: number) {
      mem().writeU32(codePtr, vm().status.code);
      return out(Buffer.from(vm().status.message), msgPtrPtr, msgLenPtr);
    },
    proxy_get_property(p: number, l: number, ptrPtr: number, lenPtr: number) {
      const r = getProperty(ctx(), mem().read(p, l));
      return r.value === undefined ? r.result : out(r.value, ptrPtr, lenPtr);
    },
    proxy_set_property(p: number, l: number, vp: number, vl: number) {
      return setProperty(ctx(), mem().read(p, l), mem().read(vp, vl));
    },
    proxy_send_local_response(
      code: number,
      dp: number,
      dl: number,
      bp: number,
      bl: number,
      hp: number,
      hl: number,
      grpc: number,
    ) {
      const headers = decodePairs(mem().read(hp, hl));
      streamOf()?.sendLocalResponse({
        status: code >>> 0,
        details: str(dp, dl),
        body: mem().read(bp, bl),
        headers,
        grpcStatus: grpc | 0,
      });
      vm().nextIterationStopped = true;
      return WasmResult.Ok;
    },
    proxy_continue_stream(type: number) {
      if (type === StreamType.Upstream) return WasmResult.Unimplemented;
      if (type >>> 0 > StreamType.Upstream) return WasmResult.BadArgument;
      const c = ctx();
      if (type === StreamType.Downstream) {
        if (c.kind === 'connection') c.connection.continueReading();
      } else streamOf()?.continueStream(type);
      return WasmResult.Ok;
    },
    proxy_close_stream(type: number) {
      if (type >>> 0 > StreamType.Upstream) return WasmResult.BadArgument;
      const c = ctx();
      if (type === StreamType.HttpRequest || type === StreamType.HttpResponse) streamOf()?.closeStream();
      else if (c.kind === 'connection') c.connection.closeStream(type);
      return WasmResult.Ok;
    },

    proxy_get_header_map_value(type: number, kp: number, kl: number, ptrPtr: number, lenPtr: number) {
      if (type >>> 0 > MapType.HttpCallResponseTrailers) return WasmResult.BadArgument;
      const c = ctx();
      const map = mapOf(c, type, false);
      if (!map)
        return c.kind === 'stream' && c.stream.inAccessLog ? WasmResult.NotFound : WasmResult.BadArgument;
      const v = map.get(str(kp, kl));
      return v === undefined ? WasmResult.NotFound : out(v, ptrPtr, lenPtr);
    },
    proxy_get_header_map_pairs(type: number, ptrPtr: number, lenPtr: number) {
      if (type >>> 0 > MapType.HttpCallResponseTrailers) return WasmResult.BadArgument;
      const map = mapOf(ctx(), type, false);
      return out(map && map.size ? map.encode() : Buffer.alloc(0), ptrPtr, lenPtr);
    },
    proxy_get_header_map_size(type: number, ptr: number) {
      if (type >>> 0 > MapType.HttpCallResponseTrailers) return WasmResult.BadArgument;
      const map = mapOf(ctx(), type, true);
      if (!map) return WasmResult.BadArgument;
      mem().writeU32(ptr, map.byteSize());
      return WasmResult.Ok;
    },
    proxy_add_header_map_value(type: number, kp: number, kl: number, vp: number, vl: number) {
      const map = type >>> 0 > MapType.HttpCallResponseTrailers ? null : mapOf(ctx(), type, true);
      if (!map) return WasmResult.BadArgument;
      map.add(str(kp, kl), mem().read(vp, vl));
      return WasmResult.Ok;
    },
    proxy_replace_header_map_value(type: number, kp: number, kl: number, vp: number, vl: number) {
      const map = type >>> 0 > MapType.HttpCallResponseTrailers ? null : mapOf(ctx(), type, true);
      if (!map) return WasmResult.BadArgument;
      map.replace(str(kp, kl), mem().read(vp, vl));
      return WasmResult.Ok;
    },
    proxy_remove_header_map_value(type: number, kp: number, kl: number) {
      const map = type >>> 0 > MapType.HttpCallResponseTrailers ? null : mapOf(ctx(), type, true);
      if (!map) return WasmResult.BadArgument;
      map.remove(str(kp, kl));
      return WasmResult.Ok;
    },
    proxy_set_header_map_pairs(type: number, p: number, l: number) {
      const map = type >>> 0 > MapType.HttpCallResponseTrailers ? null : mapOf(ctx(), type, true);
      if (!map) return WasmResult.BadArgument;
      map.setAll(decodePairs(mem().read(p, l)));
      return WasmResult.Ok;
    },

    proxy_get_buffer_status(type: number, lenPtr: number, flagsPtr: number) {
      if (type >>> 0 > BufferType.CallData) return WasmResult.BadArgument;
      const buf = bufferOf(ctx(), type);
      if (!buf) return WasmResult.NotFound;
      mem().writeU32(lenPtr, buf.get().length);
      mem().writeU32(flagsPtr, 0);
      return WasmResult.Ok;
    },
    proxy_get_buffer_bytes(type: number, start: number, maxLen: number, ptrPtr: number, lenPtr: number) {
      if (type >>> 0 > BufferType.CallData) return WasmResult.BadArgument;
      const buf = bufferOf(ctx(), type);
      if (!buf) return WasmResult.NotFound;
      // cpp-host's overflow check (start > start + length) works on 64-bit words: with wasm32
      // arguments it never fires, so a start past the end simply reads nothing.
      const data = buf.get();
      start >>>= 0;
      const end = Math.min(data.length, start + (maxLen >>> 0));
      return out(start >= end ? Buffer.alloc(0) : data.subarray(start, end), ptrPtr, lenPtr);
    },
    proxy_set_buffer_bytes(type: number, start: number, len: number, dp: number, dl: number) {
      if (type >>> 0 > BufferType.CallData) return WasmResult.BadArgument;
      const buf = bufferOf(ctx(), type);
      if (!buf) return WasmResult.NotFound;
      return writeBuffer(buf, start >>> 0, len >>> 0, mem().read(dp, dl));
    },

    proxy_http_call(
      up: number,
      ul: number,
      hp: number,
      hl: number,
      bp: number,
      bl: number,
      tp: number,
      tl: number,
      timeout: number,
      tokenPtr: number,
    ) {
      const r = vm().services.calls.httpCall(vm(), ctx(), {
        cluster: str(up, ul),
        headers: decodePairs(mem().read(hp, hl)),
        body: mem().read(bp, bl),
        trailers: decodePairs(mem().read(tp, tl)),
        timeoutMs: timeout | 0,
      });
      if (typeof r === 'number') return r;
      mem().writeU32(tokenPtr, r.token);
      return WasmResult.Ok;
    },
    proxy_grpc_call(
      up: number,
      ul: number,
      sp: number,
      sl: number,
      mp: number,
      ml: number,
      ip: number,
      il: number,
      gp: number,
      gl: number,
      timeout: number,
      tokenPtr: number,
    ) {
      const r = vm().services.calls.grpcCall(vm(), ctx(), {
        upstream: mem().read(up, ul),
        service: str(sp, sl),
        method: str(mp, ml),
        metadata: decodePairs(mem().read(ip, il)),
        message: mem().read(gp, gl),
        timeoutMs: timeout >>> 0,
        stream: false,
      });
      if (typeof r === 'number') return r;
      mem().writeU32(tokenPtr, r.token);
      return WasmResult.Ok;
    },
    proxy_grpc_stream(
      up: number,
      ul: number,
      sp: number,
      sl: number,
      mp: number,
      ml: number,
      ip: number,
      il: number,
      tokenPtr: number,
    ) {
      const r = vm().services.calls.grpcCall(vm(), ctx(), {
        upstream: mem().read(up, ul),
        service: str(sp, sl),
        method: str(mp, ml),
        metadata: decodePairs(mem().read(ip, il)),
        message: Buffer.alloc(0),
        timeoutMs: 0,
        stream: true,
      });
      if (typeof r === 'number') return r;
      mem().writeU32(tokenPtr, r.token);
      return WasmResult.Ok;
    },
    proxy_grpc_send(token: number, mp: number, ml: number, endStream: number) {
      return vm().services.calls.grpcSend(vm(), token >>> 0, mem().read(mp, ml), endStream !== 0);
    },
    proxy_grpc_close(token: number) {
      return vm().services.calls.grpcClose(vm(), token >>> 0, false);
    },
    proxy_grpc_cancel(token: number) {
      return vm().services.calls.grpcClose(vm(), token >>> 0, true);
    },

    proxy_set_shared_data(kp: number, kl: number, vp: number, vl: number, cas: number) {
      return vm().services.shared.setData(vm().vmId, str(kp, kl), mem().read(vp, vl), cas >>> 0);
    },
    proxy_get_shared_data(kp: number, kl: number, ptrPtr: number, lenPtr: number, casPtr: number) {
      const hit = vm().services.shared.getData(vm().vmId, str(kp, kl));
      if (!hit) return WasmResult.NotFound;
      const r = out(hit.value, ptrPtr, lenPtr);
      if (r === WasmResult.Ok) mem().writeU32(casPtr, hit.cas);
      return r;
    },
    proxy_register_shared_queue(np: number, nl: number, idPtr: number) {
      const root = vm().rootOf(ctx());
      if (!root) return WasmResult.BadArgument;
      mem().writeU32(idPtr, vm().services.shared.registerQueue(vm().vmId, str(np, nl), root));
      return WasmResult.Ok;
    },
    proxy_resolve_shared_queue(vp: number, vl: number, np: number, nl: number, idPtr: number) {
      const vmId = vl === 0 ? vm().vmId : str(vp, vl);
      const id = vm().services.shared.resolveQueue(vmId, str(np, nl));
      if (id === undefined) return WasmResult.NotFound;
      mem().writeU32(idPtr, id);
      return WasmResult.Ok;
    },
    proxy_enqueue_shared_queue(id: number, vp: number, vl: number) {
      return vm().services.shared.enqueue(vm(), id >>> 0, mem().read(vp, vl));
    },
    proxy_dequeue_shared_queue(id: number, ptrPtr: number, lenPtr: number) {
      const r = vm().services.shared.dequeue(id >>> 0);
      return typeof r === 'number' ? r : out(r, ptrPtr, lenPtr);
    },

    proxy_define_metric(type: number, np: number, nl: number, idPtr: number) {
      if (type >>> 0 > MetricType.Histogram) return WasmResult.BadArgument;
      const id = vm().nextMetricId(type);
      const name = str(np, nl);
      vm().metricIds.set(id, name);
      vm().services.metrics.define(type, name);
      mem().writeU32(idPtr, id);
      return WasmResult.Ok;
    },
    proxy_increment_metric(id: number, delta: bigint) {
      const type = id & 3;
      const name = vm().metricIds.get(id >>> 0);
      if (type === MetricType.Counter) {
        if (name === undefined) return WasmResult.NotFound;
        if (delta <= 0n) return WasmResult.BadArgument;
        vm().services.metrics.add(name, delta);
        return WasmResult.Ok;
      }
      if (type === MetricType.Gauge) {
        if (name === undefined) return WasmResult.NotFound;
        vm().services.metrics.add(name, delta);
        return WasmResult.Ok;
      }
      return WasmResult.BadArgument;
    },
    proxy_record_metric(id: number, value: bigint) {
      const name = vm().metricIds.get(id >>> 0);
      if (name === undefined || (id & 3) > MetricType.Histogram) return WasmResult.NotFound;
      vm().services.metrics.record(name, BigInt.asUintN(64, value));
      return WasmResult.Ok;
    },
    proxy_get_metric(id: number, ptr: number) {
      const type = id & 3;
      if (type !== MetricType.Counter && type !== MetricType.Gauge) return WasmResult.BadArgument;
      const name = vm().metricIds.get(id >>> 0);
      if (name === undefined) return WasmResult.NotFound;
      mem().writeU64(ptr, vm().services.metrics.value(name) ?? 0n);
      return WasmResult.Ok;
    },

    proxy_set_tick_period_milliseconds(period: number) {
      const root = vm().rootOf(ctx());
      if (!root) return WasmResult.BadArgument;
      root.tickPeriodMs = period >>> 0;
      root.nextTickAt = Number(vm().services.monotonicNs() / 1_000_000n) + root.tickPeriodMs;
      return WasmResult.Ok;
    },
    proxy_get_current_time_nanoseconds(ptr: number) {
      mem().writeU64(ptr, vm().services.nowNs());
      return WasmResult.Ok;
    },
    proxy_set_effective_context(id: number) {
      const target = vm().contexts.get(id >>> 0);
      if (!target) return WasmResult.BadArgument;
      vm().effective = target;
      return WasmResult.Ok;
    },
    proxy_done() {
      // WasmBase::done(context): only a root context waiting after on_done() == false qualifies.
      const root = ctx();
      if (root.kind !== 'root' || !root.pendingDone) return WasmResult.NotFound;
      root.pendingDone = false;
      // Deferred so that proxy_on_delete does not run inside proxy_done (cpp-host WasmBase::done).
      vm().defer(() => root.plugin.deleteRoot(root));
      return WasmResult.Ok;
    },
    proxy_call_foreign_function(
      np: number,
      nl: number,
      ap: number,
      al: number,
      ptrPtr: number,
      lenPtr: number,
    ) {
      const name = str(np, nl);
      const args = mem().read(ap, al);
      const fn = foreignFunction(name);
      if (!fn) return WasmResult.NotFound;
      const r = fn(args);
      // cpp-host writes the result pointer/size only when the module asked for them (non-zero pointers).
      if (ptrPtr === 0 && lenPtr === 0) return r.result;
      const written = out(r.value ?? Buffer.alloc(0), ptrPtr, lenPtr);
      return written === WasmResult.Ok ? r.result : written;
    },
  };
}

function wasiImports(vm: () => WasmVm): Record<string, Fn> {
  const mem = () => vm().memory;
  const envList = () => Object.entries(vm().env).map(([k, v]) => Buffer.from(`${k}=${v}\0`));
  return {
    fd_write(fd: number, iovs: number, n: number, writtenPtr: number) {
      if (fd !== 1 && fd !== 2) return WASI_ERRNO.BADF;
      const parts: Buffer[] = [];
      for (let k = 0; k < n; k++)
        parts.push(mem().read(mem().readU32(iovs + k * 8), mem().readU32(iovs + k * 8 + 4)));
      const data = Buffer.concat(parts);
      mem().writeU32(writtenPtr, data.length);
      const text = data.toString('utf8').replace(/\n$/, '');
      vm().services.log(vm(), vm().effective, fd === 1 ? LogLevel.Info : LogLevel.Error, text);
      return WASI_ERRNO.SUCCESS;
    },
    fd_read: () => WASI_ERRNO.NOSYS,
    // cpp-host logs these two as errors and reports success.
    fd_seek() {
      vm().services.log(vm(), vm().effective, LogLevel.Error, 'wasi_unstable fd_seek');
      return WASI_ERRNO.SUCCESS;
    },
    fd_close() {
      vm().services.log(vm(), vm().effective, LogLevel.Error, 'wasi_unstable fd_close');
      return WASI_ERRNO.SUCCESS;
    },
    fd_fdstat_get(fd: number, ptr: number) {
      if (fd !== 1 && fd !== 2) return WASI_ERRNO.BADF;
      const stat = Buffer.alloc(24);
      stat.writeBigUint64LE(64n, 8); // fs_rights_base = FD_WRITE; filetype and flags 0
      mem().write(ptr, stat);
      return WASI_ERRNO.SUCCESS;
    },
    environ_sizes_get(countPtr: number, sizePtr: number) {
      const list = envList();
      mem().writeU32(countPtr, list.length);
      mem().writeU32(
        sizePtr,
        list.reduce((s, b) => s + b.length, 0),
      );
      return WASI_ERRNO.SUCCESS;
    },
    environ_get(ptrs: number, buf: number) {
      let pos = buf;
      envList().forEach((b, k) => {
        mem().writeU32(ptrs + k * 4, pos);
        mem().write(pos, b);
        pos += b.length;
      });
      return WASI_ERRNO.SUCCESS;
    },
    args_sizes_get(countPtr: number, sizePtr: number) {
      mem().writeU32(countPtr, 0);
      mem().writeU32(sizePtr, 0);
      return WASI_ERRNO.SUCCESS;
    },
    args_get: () => WASI_ERRNO.SUCCESS,
    clock_time_get(id: number, _precision: bigint, ptr: number) {
      if (id === 0) mem().writeU64(ptr, vm().services.nowNs());
      else if (id === 1) mem().writeU64(ptr, vm().services.monotonicNs());
      else return WASI_ERRNO.NOTSUP; // process/thread CPU clocks are not supported

      return WASI_ERRNO.SUCCESS;
    },
    random_get(ptr: number, len: number) {
      if (len >>> 0 > 64 * 1024) return WASI_ERRNO.INVAL;
      mem().write(ptr, randomFillSync(Buffer.alloc(len >>> 0)));
      return WASI_ERRNO.SUCCESS;
    },
    proc_exit(code: number) {
      // Envoy logs and returns; it does not stop the VM (§1.3).
      vm().services.log(
        vm(),
        vm().effective,
        LogLevel.Error,
        `wasi_unstable proc_exit (code ${code}): logged and ignored, as Envoy does`,
        true,
      );
    },
    poll_oneoff: () => WASI_ERRNO.NOSYS,
  };
}

/** Wraps every host function: restricted windows (trap), bad guest pointers ⇒ InvalidMemoryAccess. */
function guard(vm: () => WasmVm, name: string, fn: Fn, wasi: boolean): Fn {
  // `arguments` passed on with apply: no rest array per hostcall (this wrapper runs on every one).
  return function guarded(): number | void {
    vm().checkWindow(name);
    try {
      // eslint-disable-next-line prefer-rest-params, prefer-spread
      return fn.apply(undefined, arguments as unknown as never[]);
    } catch (err) {
      if (err instanceof GuestMemoryError) return wasi ? 21 /* EFAULT */ : WasmResult.InvalidMemoryAccess;
      throw err instanceof WasmTrap
        ? err
        : new WasmTrap(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  } as Fn;
}

/** The import object for one VM. Only ABI 0.2.1 is accepted at load time (checkLoadable). */
export function buildImports(
  vm: () => WasmVm,
  info: ModuleInfo,
  memory?: WebAssembly.Memory,
): WebAssembly.Imports {
  const proxy = proxyImports(vm);
  const wasi = wasiImports(vm);
  const env: Record<string, Fn | WebAssembly.Memory> = {};
  for (const name of Object.keys(PROXY_IMPORTS_0_2_1)) env[name] = guard(vm, name, proxy[name]!, false);
  env.pthread_equal = guard(vm, 'pthread_equal', ((a: number, b: number) => (a === b ? 1 : 0)) as Fn, false);
  env.emscripten_notify_memory_growth = guard(
    vm,
    'emscripten_notify_memory_growth',
    (() => undefined) as Fn,
    false,
  );
  const wasiObj: Record<string, Fn> = {};
  for (const name of Object.keys(WASI_IMPORTS)) wasiObj[name] = guard(vm, name, wasi[name]!, true);
  const imports: WebAssembly.Imports = { env };
  for (const m of WASI_MODULES) imports[m] = wasiObj;
  const memImport = info.imports.find((i) => i.kind === 'memory');
  if (memImport && memory) (imports[memImport.module] ??= {})[memImport.name] = memory;
  return imports;
}
