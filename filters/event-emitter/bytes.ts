// Byte helpers shared by the emitter: a growable output buffer and comparisons over raw memory.
// Everything works on (pointer, length) pairs so that host results, captured headers and bodies
// can be read in place; every read is bounds-checked by its caller, nothing here can trap.

/** A growable byte buffer. `reset()` keeps the capacity, so a reused buffer stops allocating. */
export class ByteBuf {
  buf: ArrayBuffer;
  len: i32 = 0;

  constructor(capacity: i32 = 256) {
    this.buf = new ArrayBuffer(capacity < 16 ? 16 : capacity);
  }

  @inline get ptr(): usize {
    return changetype<usize>(this.buf);
  }

  reset(): void {
    this.len = 0;
  }

  /** Makes room for `n` more bytes, doubling the capacity but not beyond `limit` (unless needed). */
  @inline ensure(n: i32, limit: i32 = i32.MAX_VALUE): void {
    if (this.len + n > this.buf.byteLength) this.grow(n, limit);
  }

  private grow(n: i32, limit: i32): void {
    const need = this.len + n;
    const cap = this.buf.byteLength;
    let next = cap << 1;
    while (next < need) next <<= 1;
    if (next > limit) next = need > limit ? need : limit;
    const grown = new ArrayBuffer(next);
    memory.copy(changetype<usize>(grown), changetype<usize>(this.buf), <usize>this.len);
    this.buf = grown;
  }

  @inline byte(b: u8): void {
    this.ensure(1);
    store<u8>(this.ptr + <usize>this.len, b);
    this.len++;
  }

  raw(p: usize, n: i32): void {
    if (n <= 0) return;
    this.ensure(n);
    memory.copy(this.ptr + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  /** raw() that grows the buffer no further than `limit` bytes (body copies up to their cap). */
  rawCapped(p: usize, n: i32, limit: i32): void {
    if (n <= 0) return;
    this.ensure(n, limit);
    memory.copy(this.ptr + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  bytes(b: ArrayBuffer): void {
    this.raw(changetype<usize>(b), b.byteLength);
  }

  /** Appends an ASCII string (configuration time and rare paths; hot paths use static bytes). */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const p = this.ptr + <usize>this.len;
    for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>s.charCodeAt(i));
    this.len += n;
  }

  /** Appends a non-negative decimal integer. */
  decimal(v: u64): void {
    let digits = 1;
    for (let x = v; x >= 10; x /= 10) digits++;
    this.ensure(digits);
    let p = this.ptr + <usize>(this.len + digits);
    do {
      store<u8>(--p, <u8>(48 + <u32>(v % 10)));
      v /= 10;
    } while (v);
    this.len += digits;
  }

  /** Reserves `n` bytes at the end and returns their address (caller fills all of them). */
  @inline claim(n: i32): usize {
    this.ensure(n);
    const p = this.ptr + <usize>this.len;
    this.len += n;
    return p;
  }

  /** Copies the content into a new exact-size buffer. */
  toBytes(): ArrayBuffer {
    const out = new ArrayBuffer(this.len);
    memory.copy(changetype<usize>(out), this.ptr, <usize>this.len);
    return out;
  }

  /** Drops everything from `mark` on (used to roll back a half-written attribute). */
  truncate(mark: i32): void {
    if (mark >= 0 && mark < this.len) this.len = mark;
  }
}

export function bytesEqual(a: usize, alen: i32, b: usize, blen: i32): bool {
  if (alen != blen) return false;
  return memory.compare(a, b, <usize>alen) == 0;
}

@inline export function lowerAscii(c: u32): u32 {
  return c - 65 < 26 ? c | 32 : c;
}

/** Case-insensitive ASCII comparison (host names). */
export function bytesEqualIgnoreCase(a: usize, alen: i32, b: usize, blen: i32): bool {
  if (alen != blen) return false;
  for (let i = 0; i < alen; i++) {
    if (lowerAscii(load<u8>(a + <usize>i)) != lowerAscii(load<u8>(b + <usize>i))) return false;
  }
  return true;
}
