// Zero-allocation reads from the host for the request path: the value stays where the SDK's
// allocator put it (its receive area, or a pinned buffer for big values) and is read in place
// until the next host call. Used for the prefilter, header capture and body chunks.
import { proxy_get_buffer_bytes, proxy_get_header_map_pairs, proxy_get_header_map_value, proxy_get_property } from "../sdk/imports";
import { putBytes, putLen, resetExchange, retA, retB } from "../sdk/memory";
import { BufferType, MapType, WasmResult } from "../sdk";

/** Where the last successful peek left its value: [peekPtr, peekPtr + peekLen). */
export let peekPtr: usize = 0;
export let peekLen: i32 = 0;

function took(status: u32): bool {
  if (status != WasmResult.Ok) return false;
  peekPtr = load<usize>(retA);
  peekLen = <i32>load<u32>(retB);
  return true;
}

/** First value of header `name` (lowercase UTF-8 bytes). */
export function peekHeader(map: MapType, name: ArrayBuffer): bool {
  resetExchange();
  const k = putBytes(name);
  return took(proxy_get_header_map_value(map, k, putLen, retA, retB));
}

/** The whole map in the pairs format. */
export function peekPairs(map: MapType): bool {
  resetExchange();
  return took(proxy_get_header_map_pairs(map, retA, retB));
}

/** Bytes [start, start+max) of a body buffer. */
export function peekBuffer(type: BufferType, start: u32, max: u32): bool {
  resetExchange();
  return took(proxy_get_buffer_bytes(type, start, max, retA, retB));
}

/** A property given as NUL-joined path bytes (e.g. "xds\0route_name"). */
export function peekProperty(path: ArrayBuffer): bool {
  resetExchange();
  const p = putBytes(path);
  return took(proxy_get_property(p, putLen, retA, retB));
}

/** Copies the peeked value into a new buffer the caller keeps. */
export function keepPeek(): ArrayBuffer {
  const b = new ArrayBuffer(peekLen);
  memory.copy(changetype<usize>(b), peekPtr, <usize>peekLen);
  return b;
}
