// The ABI's "pairs" wire format (header maps, gRPC metadata, property maps):
//   u32 count N; N × (u32 key_len, u32 value_len); then per pair: key bytes, 0x00, value bytes, 0x00.
// Envoy parses it strictly (a malformed block becomes an EMPTY map), so we always write exact blocks.
import { HeaderPair } from "./types";
import { reserve, setPutLen } from "./memory";

/** Encodes `pairs` into the send arena; returns its address, length in putLen. Empty ⇒ 0/0. */
export function putPairs(pairs: Array<HeaderPair>): usize {
  const n = pairs.length;
  if (n == 0) {
    setPutLen(0);
    return 0;
  }
  let size: usize = 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pairs[i]);
    size += <usize>String.UTF8.byteLength(p.key) + <usize>String.UTF8.byteLength(p.value) + 2;
  }
  const base = reserve(size);
  store<u32>(base, <u32>n);
  let lens = base + 4;
  let data = base + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pairs[i]);
    const k = String.UTF8.encodeUnsafe(changetype<usize>(p.key), p.key.length, data);
    store<u8>(data + k, 0);
    data += k + 1;
    const v = String.UTF8.encodeUnsafe(changetype<usize>(p.value), p.value.length, data);
    store<u8>(data + v, 0);
    data += v + 1;
    store<u32>(lens, <u32>k);
    store<u32>(lens, <u32>v, 4);
    lens += 8;
  }
  setPutLen(size);
  return base;
}

/**
 * Decodes a pairs block at [ptr, ptr+len) into `out` (appended). Returns false, leaving `out`
 * untouched, when the block is malformed (bounds are checked: never reads outside the block).
 */
export function decodePairs(ptr: usize, len: usize, out: Array<HeaderPair>): bool {
  if (ptr == 0 || len < 4) return len == 0;
  const n = <usize>load<u32>(ptr);
  const end = ptr + len;
  let data = ptr + 4 + n * 8;
  if (n > 1024 * 1024 || data > end) return false;
  const start = out.length;
  for (let i: usize = 0; i < n; i++) {
    const kl = <usize>load<u32>(ptr + 4 + i * 8);
    const vl = <usize>load<u32>(ptr + 8 + i * 8);
    if (data + kl + vl + 2 > end) {
      out.length = start;
      return false;
    }
    const k = String.UTF8.decodeUnsafe(data, kl);
    data += kl + 1;
    const v = String.UTF8.decodeUnsafe(data, vl);
    data += vl + 1;
    out.push(new HeaderPair(k, v));
  }
  return true;
}
