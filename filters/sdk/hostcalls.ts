// Typed, non-throwing wrappers around the host imports. Convention: a wrapper never traps on a
// status Envoy returns in normal operation; it returns null / a WasmResult / a result object.
// Every wrapper starts with resetExchange() (see memory.ts) and consumes the host's output before
// returning, so results never alias each other.
import * as env from "./imports";
import {
  BufferType, BytesResult, GrpcStatus, HeaderPair, MapType, SharedDataValue, StatusWithMessage, StreamType,
  U32Result, WasmResult,
} from "./types";
import {
  putBytes, putLen, putString, releaseResult, reserve, resetExchange, retA, retB, retC, setPutLen, takeBytes, takeString,
} from "./memory";
import { decodePairs, putPairs } from "./pairs";

/** Status plus the u32 the host wrote to retA (token, queue id) when the call succeeded. */
function u32Result(s: WasmResult): U32Result {
  return new U32Result(s, s == WasmResult.Ok ? load<u32>(retA) : 0);
}

// ---------------------------------------------------------------- header maps

/** Value of the first `key` header in `map` (keys are case-insensitive); null if absent or unavailable. */
export function getHeaderMapValue(map: MapType, key: string): string | null {
  resetExchange();
  const k = putString(key);
  if (env.proxy_get_header_map_value(map, k, putLen, retA, retB) != WasmResult.Ok) return null;
  return takeString(load<usize>(retA), load<u32>(retB));
}

/** Like getHeaderMapValue, raw bytes (for values that may not be UTF-8). */
export function getHeaderMapValueBytes(map: MapType, key: string): ArrayBuffer | null {
  resetExchange();
  const k = putString(key);
  if (env.proxy_get_header_map_value(map, k, putLen, retA, retB) != WasmResult.Ok) return null;
  return takeBytes(load<usize>(retA), load<u32>(retB));
}

/** All entries in order (empty when the map is unavailable in this callback). */
export function getHeaderMapPairs(map: MapType): Array<HeaderPair> {
  resetExchange();
  const out = new Array<HeaderPair>();
  if (env.proxy_get_header_map_pairs(map, retA, retB) == WasmResult.Ok) {
    const ptr = load<usize>(retA);
    const len = <usize>load<u32>(retB);
    decodePairs(ptr, len, out);
    releaseResult(ptr); // decodePairs copied the strings out
  }
  return out;
}

/** Replaces the whole map (Envoy: removes all, then adds in order). */
export function setHeaderMapPairs(map: MapType, pairs: Array<HeaderPair>): WasmResult {
  resetExchange();
  const p = putPairs(pairs);
  return <WasmResult>env.proxy_set_header_map_pairs(map, p, putLen);
}

/** Envoy reports the byte size of keys + values (not the entry count). -1 when unavailable. */
export function getHeaderMapSize(map: MapType): i32 {
  resetExchange();
  if (env.proxy_get_header_map_size(map, retA) != WasmResult.Ok) return -1;
  return <i32>load<u32>(retA);
}

export function addHeaderMapValue(map: MapType, key: string, value: string): WasmResult {
  resetExchange();
  const k = putString(key);
  const kl = putLen;
  const v = putString(value);
  return <WasmResult>env.proxy_add_header_map_value(map, k, kl, v, putLen);
}

export function replaceHeaderMapValue(map: MapType, key: string, value: string): WasmResult {
  resetExchange();
  const k = putString(key);
  const kl = putLen;
  const v = putString(value);
  return <WasmResult>env.proxy_replace_header_map_value(map, k, kl, v, putLen);
}

export function removeHeaderMapValue(map: MapType, key: string): WasmResult {
  resetExchange();
  const k = putString(key);
  return <WasmResult>env.proxy_remove_header_map_value(map, k, putLen);
}

// ---------------------------------------------------------------- buffers

/** Bytes [start, start+maxLen) of a buffer (clamped by the host); null when unavailable. */
export function getBufferBytes(type: BufferType, start: u32, maxLen: u32): ArrayBuffer | null {
  resetExchange();
  if (env.proxy_get_buffer_bytes(type, start, maxLen, retA, retB) != WasmResult.Ok) return null;
  return takeBytes(load<usize>(retA), load<u32>(retB));
}

/** Current size of a buffer; -1 when the buffer is not available in this callback. */
export function getBufferSize(type: BufferType): i32 {
  resetExchange();
  if (env.proxy_get_buffer_status(type, retA, retB) != WasmResult.Ok) return -1;
  return <i32>load<u32>(retA);
}

/** Envoy: start=0 ⇒ drop `len` bytes then prepend `data`; start ≥ size ⇒ append; else BadArgument. */
export function setBufferBytes(type: BufferType, start: u32, len: u32, data: ArrayBuffer): WasmResult {
  resetExchange();
  const p = putBytes(data);
  return <WasmResult>env.proxy_set_buffer_bytes(type, start, len, p, putLen);
}

// ---------------------------------------------------------------- properties

/** Encodes path segments joined by NUL (Envoy does not resolve a dotted "request.path"). */
function putPath(path: Array<string>): usize {
  let size: usize = 0;
  for (let i = 0; i < path.length; i++) size += <usize>String.UTF8.byteLength(unchecked(path[i])) + 1;
  const base = reserve(size);
  let at = base;
  for (let i = 0; i < path.length; i++) {
    const s = unchecked(path[i]);
    if (i > 0) store<u8>(at++, 0);
    at += String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, at);
  }
  setPutLen(at - base);
  return base;
}

/** Raw serialized property (see decoders in properties.ts); null when missing/unserializable. */
export function getProperty(path: Array<string>): ArrayBuffer | null {
  resetExchange();
  const p = putPath(path);
  if (env.proxy_get_property(p, putLen, retA, retB) != WasmResult.Ok) return null;
  return takeBytes(load<usize>(retA), load<u32>(retB));
}

/** String property decoded as UTF-8 without an intermediate buffer; null when missing. */
export function getPropertyString(path: Array<string>): string | null {
  resetExchange();
  const p = putPath(path);
  if (env.proxy_get_property(p, putLen, retA, retB) != WasmResult.Ok) return null;
  return takeString(load<usize>(retA), load<u32>(retB));
}

/** Stores `value` in filter state `wasm.<path>` (NotFound from a root context: no stream). */
export function setProperty(path: Array<string>, value: ArrayBuffer): WasmResult {
  resetExchange();
  const p = putPath(path);
  const pl = putLen;
  const v = putBytes(value);
  return <WasmResult>env.proxy_set_property(p, pl, v, putLen);
}

// ---------------------------------------------------------------- stream control

export function continueStream(type: StreamType): WasmResult {
  return <WasmResult>env.proxy_continue_stream(type);
}

export function closeStream(type: StreamType): WasmResult {
  return <WasmResult>env.proxy_close_stream(type);
}

/** Sends a reply instead of the upstream's (takes effect after the current callback returns). */
export function sendLocalResponse(
  statusCode: u32, details: string, body: ArrayBuffer | null, headers: Array<HeaderPair>,
  grpcStatus: GrpcStatus = GrpcStatus.InvalidCode,
): WasmResult {
  resetExchange();
  const d = putString(details);
  const dl = putLen;
  const b = putBytes(body);
  const bl = putLen;
  const h = putPairs(headers);
  return <WasmResult>env.proxy_send_local_response(statusCode, d, dl, b, bl, h, putLen, grpcStatus);
}

// ---------------------------------------------------------------- time, tick, context

/** Wall-clock time in ns since the epoch (0 if the host fails). */
export function getCurrentTimeNanoseconds(): u64 {
  if (env.proxy_get_current_time_nanoseconds(retA) != WasmResult.Ok) return 0;
  return load<u64>(retA);
}

/** Ticks the current context's root every `ms` (0 disables). */
export function setTickPeriodMilliseconds(ms: u32): WasmResult {
  return <WasmResult>env.proxy_set_tick_period_milliseconds(ms);
}

/** Makes later host calls act on context `id` (e.g. a stream from an http_call callback). */
export function setEffectiveContext(id: u32): WasmResult {
  return <WasmResult>env.proxy_set_effective_context(id);
}

/** Tells the host a root context that returned false from onDone has finished. */
export function done(): WasmResult {
  return <WasmResult>env.proxy_done();
}

/** proxy_get_status: code and message of the last call (e.g. gRPC status in onGrpcClose). */
export function getStatus(): StatusWithMessage {
  resetExchange();
  const s = <WasmResult>env.proxy_get_status(retC, retA, retB);
  if (s != WasmResult.Ok) return new StatusWithMessage(s, 0, "");
  return new StatusWithMessage(s, load<u32>(retC), takeString(load<usize>(retA), load<u32>(retB)));
}

// ---------------------------------------------------------------- HTTP / gRPC callouts

/** Dispatches an HTTP call to Envoy cluster `cluster`; headers need :method, :path, :authority. */
export function httpCall(
  cluster: string, headers: Array<HeaderPair>, body: ArrayBuffer | null, trailers: Array<HeaderPair>, timeoutMs: u32,
): U32Result {
  resetExchange();
  const u = putString(cluster);
  const ul = putLen;
  const h = putPairs(headers);
  const hl = putLen;
  const b = putBytes(body);
  const bl = putLen;
  const t = putPairs(trailers);
  return u32Result(<WasmResult>env.proxy_http_call(u, ul, h, hl, b, bl, t, putLen, timeoutMs, retA));
}

// upstream, service, method and initial metadata, as (ptr, len) pairs: the common head of
// proxy_grpc_call and proxy_grpc_stream.
const grpcHead: usize = memory.data(32, 8);

function putGrpcHead(upstream: string, service: string, method: string, metadata: Array<HeaderPair>): void {
  store<u32>(grpcHead, <u32>putString(upstream));
  store<u32>(grpcHead, <u32>putLen, 4);
  store<u32>(grpcHead, <u32>putString(service), 8);
  store<u32>(grpcHead, <u32>putLen, 12);
  store<u32>(grpcHead, <u32>putString(method), 16);
  store<u32>(grpcHead, <u32>putLen, 20);
  store<u32>(grpcHead, <u32>putPairs(metadata), 24);
  store<u32>(grpcHead, <u32>putLen, 28);
}

export function grpcCall(
  upstream: string, service: string, method: string, metadata: Array<HeaderPair>, message: ArrayBuffer | null,
  timeoutMs: u32,
): U32Result {
  resetExchange();
  putGrpcHead(upstream, service, method, metadata);
  const msg = putBytes(message);
  const h = grpcHead;
  return u32Result(<WasmResult>env.proxy_grpc_call(
    load<u32>(h), load<u32>(h, 4), load<u32>(h, 8), load<u32>(h, 12), load<u32>(h, 16), load<u32>(h, 20),
    load<u32>(h, 24), load<u32>(h, 28), msg, putLen, timeoutMs, retA,
  ));
}

export function grpcStream(upstream: string, service: string, method: string, metadata: Array<HeaderPair>): U32Result {
  resetExchange();
  putGrpcHead(upstream, service, method, metadata);
  const h = grpcHead;
  return u32Result(<WasmResult>env.proxy_grpc_stream(
    load<u32>(h), load<u32>(h, 4), load<u32>(h, 8), load<u32>(h, 12), load<u32>(h, 16), load<u32>(h, 20),
    load<u32>(h, 24), load<u32>(h, 28), retA,
  ));
}

export function grpcSend(token: u32, message: ArrayBuffer | null, endStream: bool): WasmResult {
  resetExchange();
  const m = putBytes(message);
  return <WasmResult>env.proxy_grpc_send(token, m, putLen, endStream ? 1 : 0);
}

export function grpcCancel(token: u32): WasmResult {
  return <WasmResult>env.proxy_grpc_cancel(token);
}

export function grpcClose(token: u32): WasmResult {
  return <WasmResult>env.proxy_grpc_close(token);
}

// ---------------------------------------------------------------- shared data and queues

/** Value + CAS of a process-wide key (same vm_id); status NotFound when absent. */
export function getSharedData(key: string): SharedDataValue {
  resetExchange();
  const k = putString(key);
  const s = <WasmResult>env.proxy_get_shared_data(k, putLen, retA, retB, retC);
  if (s != WasmResult.Ok) return new SharedDataValue(s, null, 0);
  return new SharedDataValue(s, takeBytes(load<usize>(retA), load<u32>(retB)), load<u32>(retC));
}

/** Sets a key; cas ≠ 0 makes it conditional (CasMismatch when someone wrote in between). */
export function setSharedData(key: string, value: ArrayBuffer | null, cas: u32 = 0): WasmResult {
  resetExchange();
  const k = putString(key);
  const kl = putLen;
  const v = putBytes(value);
  return <WasmResult>env.proxy_set_shared_data(k, kl, v, putLen, cas);
}

/** Registers (or re-opens) queue `name` of this vm_id; this root then receives onQueueReady. */
export function registerSharedQueue(name: string): U32Result {
  resetExchange();
  const n = putString(name);
  return u32Result(<WasmResult>env.proxy_register_shared_queue(n, putLen, retA));
}

/** Finds queue `name` of VM `vmId` ("" = own vm_id); status NotFound until someone registers it. */
export function resolveSharedQueue(vmId: string, name: string): U32Result {
  resetExchange();
  const v = putString(vmId);
  const vl = putLen;
  const n = putString(name);
  return u32Result(<WasmResult>env.proxy_resolve_shared_queue(v, vl, n, putLen, retA));
}

export function enqueueSharedQueue(queueId: u32, value: ArrayBuffer | null): WasmResult {
  resetExchange();
  const v = putBytes(value);
  return <WasmResult>env.proxy_enqueue_shared_queue(queueId, v, putLen);
}

/** Next item; status Empty when the queue is empty, NotFound for an unknown id. */
export function dequeueSharedQueue(queueId: u32): BytesResult {
  resetExchange();
  const s = <WasmResult>env.proxy_dequeue_shared_queue(queueId, retA, retB);
  if (s != WasmResult.Ok) return new BytesResult(s, null);
  return new BytesResult(s, takeBytes(load<usize>(retA), load<u32>(retB)));
}

// ---------------------------------------------------------------- foreign functions

/** Calls a host extension function (e.g. Envoy's "compress"); bytes = its result. */
export function callForeignFunction(name: string, args: ArrayBuffer | null): BytesResult {
  resetExchange();
  const n = putString(name);
  const nl = putLen;
  const a = putBytes(args);
  const s = <WasmResult>env.proxy_call_foreign_function(n, nl, a, putLen, retA, retB);
  if (s != WasmResult.Ok) return new BytesResult(s, null);
  return new BytesResult(s, takeBytes(load<usize>(retA), load<u32>(retB)));
}
