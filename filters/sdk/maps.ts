// Header/metadata maps and buffers as small objects bound to their ABI type. They hold no data:
// every call goes to the host, which applies it to the current (effective) context.
import { BufferType, HeaderPair, MapType, WasmResult } from "./types";
import * as hc from "./hostcalls";

export class HeaderMap {
  constructor(public readonly type: MapType) {}
  /** First value of `name`, or null when absent or outside this map's callback window. */
  get(name: string): string | null {
    return hc.getHeaderMapValue(this.type, name);
  }
  getBytes(name: string): ArrayBuffer | null {
    return hc.getHeaderMapValueBytes(this.type, name);
  }
  has(name: string): bool {
    return hc.getHeaderMapValue(this.type, name) !== null;
  }
  /** Appends an entry (duplicates allowed). BadArgument outside the callback window. */
  add(name: string, value: string): WasmResult {
    return hc.addHeaderMapValue(this.type, name, value);
  }
  /** Sets the first occurrence (adds when absent). */
  replace(name: string, value: string): WasmResult {
    return hc.replaceHeaderMapValue(this.type, name, value);
  }
  /** Removes every occurrence. */
  remove(name: string): WasmResult {
    return hc.removeHeaderMapValue(this.type, name);
  }
  /** All entries in order. */
  pairs(): Array<HeaderPair> {
    return hc.getHeaderMapPairs(this.type);
  }
  /** Replaces all entries. */
  setPairs(pairs: Array<HeaderPair>): WasmResult {
    return hc.setHeaderMapPairs(this.type, pairs);
  }
  /** Byte size of keys + values as Envoy reports it; -1 when unavailable. */
  byteSize(): i32 {
    return hc.getHeaderMapSize(this.type);
  }
}

// "To the end": large enough for any Envoy buffer, small enough that a host doing signed 32-bit
// arithmetic (start + len) cannot overflow.
const WHOLE: u32 = <u32>i32.MAX_VALUE;

export class HostBuffer {
  constructor(public readonly type: BufferType) {}
  /** Current size in bytes; -1 when unavailable in this callback. */
  size(): i32 {
    return hc.getBufferSize(this.type);
  }
  /** Bytes from `start` (at most `maxLen`); null when unavailable. */
  bytes(start: u32 = 0, maxLen: u32 = WHOLE): ArrayBuffer | null {
    return hc.getBufferBytes(this.type, start, maxLen);
  }
  /** Whole buffer as UTF-8 text; null when unavailable. */
  text(): string | null {
    const b = hc.getBufferBytes(this.type, 0, WHOLE);
    return b === null ? null : String.UTF8.decode(b);
  }
  /** Envoy semantics: start=0 drops `len` bytes then prepends; start ≥ size appends. */
  set(start: u32, len: u32, data: ArrayBuffer): WasmResult {
    return hc.setBufferBytes(this.type, start, len, data);
  }
  replace(data: ArrayBuffer): WasmResult {
    return hc.setBufferBytes(this.type, 0, WHOLE, data);
  }
  append(data: ArrayBuffer): WasmResult {
    return hc.setBufferBytes(this.type, WHOLE, 0, data);
  }
  prepend(data: ArrayBuffer): WasmResult {
    return hc.setBufferBytes(this.type, 0, 0, data);
  }
}

export const requestHeaders = new HeaderMap(MapType.HttpRequestHeaders);
export const requestTrailers = new HeaderMap(MapType.HttpRequestTrailers);
export const responseHeaders = new HeaderMap(MapType.HttpResponseHeaders);
export const responseTrailers = new HeaderMap(MapType.HttpResponseTrailers);
export const httpCallResponseHeaders = new HeaderMap(MapType.HttpCallResponseHeaders);
export const httpCallResponseTrailers = new HeaderMap(MapType.HttpCallResponseTrailers);
export const grpcInitialMetadata = new HeaderMap(MapType.GrpcReceiveInitialMetadata);
export const grpcTrailingMetadata = new HeaderMap(MapType.GrpcReceiveTrailingMetadata);

export const requestBody = new HostBuffer(BufferType.HttpRequestBody);
export const responseBody = new HostBuffer(BufferType.HttpResponseBody);
export const downstreamData = new HostBuffer(BufferType.DownstreamData);
export const upstreamData = new HostBuffer(BufferType.UpstreamData);
export const httpCallResponseBody = new HostBuffer(BufferType.HttpCallResponseBody);
export const grpcReceiveBuffer = new HostBuffer(BufferType.GrpcReceiveBuffer);
export const vmConfiguration = new HostBuffer(BufferType.VmConfiguration);
export const pluginConfiguration = new HostBuffer(BufferType.PluginConfiguration);
export const foreignFunctionArguments = new HostBuffer(BufferType.ForeignFunctionArguments);
