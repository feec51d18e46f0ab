// Property access by path segments (["request", "path"], ["xds", "route_name"]) and decoders for
// Envoy's serialization: strings/bytes raw, int64/uint64/duration/timestamp 8 bytes LE, double
// 8-byte IEEE LE, bool 1 byte, maps/lists in the pairs format.
import { HeaderPair } from "./types";
import { getProperty, getPropertyString } from "./hostcalls";
import { decodePairs } from "./pairs";

export { getProperty, getPropertyString, setProperty } from "./hostcalls";

/** Reads an 8-byte little-endian integer; `fallback` when the value is missing or not 8 bytes. */
export function decodeI64(value: ArrayBuffer | null, fallback: i64 = 0): i64 {
  if (value === null || value.byteLength != 8) return fallback;
  return load<i64>(changetype<usize>(value));
}

export function decodeU64(value: ArrayBuffer | null, fallback: u64 = 0): u64 {
  return <u64>decodeI64(value, <i64>fallback);
}

export function decodeF64(value: ArrayBuffer | null, fallback: f64 = 0): f64 {
  if (value === null || value.byteLength != 8) return fallback;
  return load<f64>(changetype<usize>(value));
}

export function decodeBool(value: ArrayBuffer | null, fallback: bool = false): bool {
  if (value === null || value.byteLength != 1) return fallback;
  return load<u8>(changetype<usize>(value)) != 0;
}

/** A map/list property (pairs format); empty when missing or malformed. */
export function decodeMap(value: ArrayBuffer | null): Array<HeaderPair> {
  const out = new Array<HeaderPair>();
  if (value !== null) decodePairs(changetype<usize>(value), <usize>value.byteLength, out);
  return out;
}

/** Integer property (request.size, response.code, ...); `fallback` when missing. */
export function getPropertyI64(path: Array<string>, fallback: i64 = 0): i64 {
  return decodeI64(getProperty(path), fallback);
}

/** Convenience for string properties; `fallback` when missing. */
export function getPropertyStringOr(path: Array<string>, fallback: string): string {
  const s = getPropertyString(path);
  return s === null ? fallback : s;
}
