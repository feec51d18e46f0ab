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

  /** Bytes that may still be added before the copy is over the cap. */
  room(): i32 {
    const b = this.buf;
    return this.cap - (b === null ? 0 : b.len);
  }

  /** Over the cap: the copy is dropped (memory back to the GC). */
  overflow(): void {
    this.state = BodyState.TooLarge;
    this.buf = null;
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
      this.overflow();
      return;
    }
    b.rawCapped(p, n, this.cap);
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

export function findPair(p: usize, len: i32, name: usize, nameLen: i32): bool {
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

/** No body wanted: shared, never changes (BodyCopy.add ignores a copy that is not Open). */
const NO_BODY = new BodyCopy();

export class Exchange {
  /** Request headers in the pairs format: the host's block while matching, then a private copy. */
  private headers: ArrayBuffer | null = null;
  private hp: usize = 0;
  private hl: i32 = 0;
  methodPtr: usize = 0;
  methodLen: i32 = 0;
  /** :path without query string. */
  pathPtr: usize = 0;
  pathLen: i32 = 0;
  routeName: ArrayBuffer | null = null;
  status: i32 = 0;
  responseType: ArrayBuffer | null = null;
  requestBody: BodyCopy = NO_BODY;
  responseBody: BodyCopy = NO_BODY;

  /** Reads the pairs block at [p, p+len) in place (valid until the next host call). */
  view(p: usize, len: i32): void {
    this.hp = p;
    this.hl = len;
    this.methodLen = this.pathLen = 0;
    if (this.header(METHOD)) {
      this.methodPtr = foundPtr;
      this.methodLen = foundLen;
    }
    if (this.header(PATH)) {
      this.pathPtr = foundPtr;
      this.pathLen = pathEnd(foundPtr, foundLen);
    }
  }

  /** A new exchange over a private copy of this one's block (kept for the rest of the stream). */
  keep(): Exchange {
    const copy = new ArrayBuffer(this.hl);
    memory.copy(changetype<usize>(copy), this.hp, <usize>this.hl);
    const ex = new Exchange();
    ex.headers = copy;
    ex.view(changetype<usize>(copy), this.hl);
    ex.routeName = this.routeName;
    return ex;
  }

  header(name: ArrayBuffer): bool {
    return findPair(this.hp, this.hl, changetype<usize>(name), name.byteLength);
  }

  wantRequestBody(cap: i32): void {
    this.requestBody = new BodyCopy();
    this.requestBody.want(cap);
  }
  wantResponseBody(cap: i32): void {
    this.responseBody = new BodyCopy();
    this.responseBody.want(cap);
  }
}

export const METHOD = String.UTF8.encode(":method");
export const PATH = String.UTF8.encode(":path");
export const AUTHORITY = String.UTF8.encode(":authority");
