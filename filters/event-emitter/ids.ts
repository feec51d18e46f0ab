// CloudEvent ids. With an Idempotency-Key request header the id is derived from (source, rule,
// key), so a retried HTTP call yields the same event id and consumers can drop the duplicate.
// Without one, ids are unique: a per-VM random seed (WASI random_get, which Envoy provides) mixed
// with a counter through a bijective mixer, so no two ids of one VM can collide.
import { ByteBuf } from "./bytes";

@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buf: usize, len: usize): u16;

/** SplitMix64 finalizer: a bijection on u64 with good avalanche. */
@inline function mix(z: u64): u64 {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** FNV-1a over [p, p+n), continuing from `h`. */
function fnv(h: u64, p: usize, n: i32): u64 {
  for (let i = 0; i < n; i++) h = (h ^ <u64>load<u8>(p + <usize>i)) * 0x100000001b3;
  return h;
}

@inline function hexDigit(v: u64): u8 {
  const d = <u32>(v & 15);
  return <u8>(d < 10 ? 48 + d : 87 + d);
}

/** Writes nibbles [from, to) of `v` (most significant first) at `p`; returns the next address. */
function hex64(p: usize, v: u64, from: i32, to: i32): usize {
  for (let k = from; k < to; k++) store<u8>(p++, hexDigit(v >> (<u64>(60 - 4 * k))));
  return p;
}

/** Writes a 128-bit value as a UUID (8-4-4-4-12), stamping RFC 9562 version and variant bits. */
function uuidInto(out: ByteBuf, hi: u64, lo: u64, version: u64): void {
  hi = (hi & ~(<u64>0xf000)) | (version << 12);
  lo = (lo & 0x3fffffffffffffff) | 0x8000000000000000;
  let p = out.claim(36);
  p = hex64(p, hi, 0, 8);
  store<u8>(p++, 0x2d);
  p = hex64(p, hi, 8, 12);
  store<u8>(p++, 0x2d);
  p = hex64(p, hi, 12, 16);
  store<u8>(p++, 0x2d);
  p = hex64(p, lo, 0, 4);
  store<u8>(p++, 0x2d);
  hex64(p, lo, 4, 16);
}

export class IdSource {
  private seedHi: u64 = 0;
  private seedLo: u64 = 0;
  private counter: u64 = 0;

  /** Seeds from the host's randomness; `fallback` (e.g. time ⊕ context id) when unavailable. */
  seed(fallback: u64): void {
    const buf = memory.data(16, 8);
    if (random_get(buf, 16) == 0) {
      this.seedHi = load<u64>(buf);
      this.seedLo = load<u64>(buf, 8);
    } else {
      this.seedHi = mix(fallback);
      this.seedLo = mix(fallback ^ 0x9e3779b97f4a7c15);
    }
  }

  /** Next unique id (version 4 layout). */
  unique(out: ByteBuf): void {
    const c = ++this.counter;
    uuidInto(out, mix(this.seedHi ^ c), mix(this.seedLo + c * 0x9e3779b97f4a7c15), 4);
  }

  /** A number in [0, 1) for sampling. */
  fraction(): f64 {
    const c = ++this.counter;
    return <f64>(mix(this.seedLo ^ (c * 0xd1b54a32d192ed03)) >> 11) / 9007199254740992.0;
  }
}

/** Deterministic id for (source, rule, idempotency key) (version 8 layout: custom hash). */
export function idFromKey(out: ByteBuf, source: ArrayBuffer, rule: ArrayBuffer, key: usize, keyLen: i32): void {
  let a: u64 = 0xcbf29ce484222325;
  let b: u64 = 0x84222325cbf29ce4;
  const parts = 3;
  for (let k = 0; k < parts; k++) {
    const p = k == 0 ? changetype<usize>(source) : k == 1 ? changetype<usize>(rule) : key;
    const n = k == 0 ? source.byteLength : k == 1 ? rule.byteLength : keyLen;
    a = fnv(a, p, n);
    b = fnv(b ^ <u64>n, p, n);
    a = (a ^ 0xff) * 0x100000001b3; // separator so ("ab","c") ≠ ("a","bc")
    b = mix(b);
  }
  uuidInto(out, mix(a), mix(b ^ a), 8);
}

/** Same decision for the same key: a retried call is sampled like its first attempt. */
export function fractionOfKey(p: usize, n: i32): f64 {
  return <f64>(mix(fnv(0xcbf29ce484222325, p, n)) >> 11) / 9007199254740992.0;
}
