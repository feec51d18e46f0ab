// What one HTTP exchange has shown the emitter: the request headers (kept as the host's pairs
// block, copied once in on_request_headers because Envoy hides them afterwards), the route name,
// the response status and content type, and capped copies of the bodies a rule needs.
import { ByteBuf, bytesEqual } from "./bytes";
import { pathEnd } from "./path-template";

export const enum BodyState {
  /** Not wanted by any candidate rule. */
  Unwanted = 0,
  /** Being copied chunk by chunk. */
  Open = 1,
  /** Complete (end of stream seen) and within the cap. */
  Complete = 2,
  /** Exceeded the cap: dropped, the event goes without it. */
  TooLarge = 3,
}

/** A body copied as it streams past (the traffic itself is never held). */
export class BodyCopy {
  buf: ByteBuf | null = null;
  state: BodyState = BodyState.Unwanted;
  cap: i32 = 0;

  want(cap: i32): void {
    this.state = BodyState.Open;
    this.cap = cap;
  }

  /** Appends a chunk; past the cap the copy is dropped (memory back to the GC). */
  add(p: usize, n: i32, end: bool): void {
    if (this.state != BodyState.Open) return;
    let b = this.buf;
    if (b === null) {
      b = new ByteBuf(n < 256 ? 256 : n > this.cap ? this.cap : n);
      this.buf = b;
    }
    if (b.len + n > this.cap) {
      this.state = BodyState.TooLarge;
      this.buf = null;
      return;
    }
    b.raw(p, n, this.cap);
    if (end) this.state = BodyState.Complete;
  }

  /** The complete body, or null (unwanted, incomplete or too large). */
  complete(): ByteBuf | null {
    return this.state == BodyState.Complete ? this.buf : null;
  }
}

/** Finds `name` in a pairs block; the value is [foundPtr, foundPtr + foundLen). */
export let foundPtr: usize = 0;
export let foundLen: i32 = 0;

export function findPair(block: ArrayBuffer, name: usize, nameLen: i32): bool {
  const p = changetype<usize>(block);
  const len = block.byteLength;
  if (len < 4) return false;
  const n = <i32>load<u32>(p);
  let data = 4 + n * 8;
  if (n < 0 || n > 8192 || data > len) return false;
  for (let i = 0; i < n; i++) {
    const kl = <i32>load<u32>(p + 4 + <usize>i * 8);
    const vl = <i32>load<u32>(p + 8 + <usize>i * 8);
    if (kl < 0 || vl < 0 || data + kl + vl + 2 > len) return false;
    if (bytesEqual(p + <usize>data, kl, name, nameLen)) {
      foundPtr = p + <usize>(data + kl + 1);
      foundLen = vl;
      return true;
    }
    data += kl + vl + 2;
  }
  return false;
}

export function findPairBytes(block: ArrayBuffer, name: ArrayBuffer): bool {
  return findPair(block, changetype<usize>(name), name.byteLength);
}

export class Exchange {
  /** Request headers, pairs format (a private copy). */
  headers: ArrayBuffer;
  methodPtr: usize = 0;
  methodLen: i32 = 0;
  /** :path without query string. */
  pathPtr: usize = 0;
  pathLen: i32 = 0;
  routeName: ArrayBuffer | null = null;
  status: i32 = 0;
  responseType: ArrayBuffer | null = null;
  requestBody: BodyCopy = new BodyCopy();
  responseBody: BodyCopy = new BodyCopy();

  constructor(headers: ArrayBuffer) {
    this.headers = headers;
    if (findPairBytes(headers, METHOD)) {
      this.methodPtr = foundPtr;
      this.methodLen = foundLen;
    }
    if (findPairBytes(headers, PATH)) {
      this.pathPtr = foundPtr;
      this.pathLen = pathEnd(foundPtr, foundLen);
    }
  }

  header(name: ArrayBuffer): bool {
    return findPairBytes(this.headers, name);
  }
}

export const METHOD = String.UTF8.encode(":method");
export const PATH = String.UTF8.encode(":path");
export const AUTHORITY = String.UTF8.encode(":authority");
