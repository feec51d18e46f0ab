// Guest linear-memory access. Any call into the module (its allocator included) may grow memory
// and detach older ArrayBuffers (§2.16 point 3): every access checks that its cached views still
// belong to the current buffer and rebuilds them when the memory grew.

/** Thrown by a hostcall when the guest passed a pointer outside its memory. */
export class GuestMemoryError extends Error {
  override name = 'GuestMemoryError';
}

export class GuestMemory {
  // Views of the current buffer, rebuilt after growth (creating them per access dominated the
  // cost of a small hostcall).
  private buffer: ArrayBuffer | null = null;
  private u8: Buffer = Buffer.alloc(0);
  private dv: DataView = new DataView(new ArrayBuffer(0));

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly alloc: (size: number) => number,
  ) {}

  /** Current size of the linear memory in bytes (it never shrinks). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Checks [ptr, ptr+len) and returns the current views. */
  private views(ptr: number, len: number): this {
    const buf = this.memory.buffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.u8 = Buffer.from(buf); // a view, no copy
      this.dv = new DataView(buf);
    }
    if (ptr < 0 || len < 0 || ptr + len > buf.byteLength) {
      throw new GuestMemoryError(`guest pointer ${ptr}+${len} is outside linear memory (${buf.byteLength} bytes)`);
    }
    return this;
  }
  /** A copy of guest bytes (copies so later memory growth cannot detach it). */
  read(ptr: number, len: number): Buffer {
    ptr >>>= 0;
    len >>>= 0;
    const copy = Buffer.allocUnsafe(len);
    this.views(ptr, len).u8.copy(copy, 0, ptr, ptr + len);
    return copy;
  }
  readString(ptr: number, len: number): string {
    ptr >>>= 0;
    len >>>= 0;
    return this.views(ptr, len).u8.toString('utf8', ptr, ptr + len);
  }
  writeU32(ptr: number, value: number): void {
    ptr >>>= 0;
    this.views(ptr, 4).dv.setUint32(ptr, value >>> 0, true);
  }
  writeU64(ptr: number, value: bigint): void {
    ptr >>>= 0;
    this.views(ptr, 8).dv.setBigUint64(ptr, BigInt.asUintN(64, value), true);
  }
  readU32(ptr: number): number {
    ptr >>>= 0;
    return this.views(ptr, 4).dv.getUint32(ptr, true);
  }
  write(ptr: number, data: Uint8Array): void {
    ptr >>>= 0;
    const n = data.length;
    const u8 = this.views(ptr, n).u8;
    // Header values are mostly a few bytes: a loop beats TypedArray.set's fixed cost there.
    if (n <= 16) for (let i = 0; i < n; i++) u8[ptr + i] = data[i]!;
    else u8.set(data, ptr);
  }
  /**
   * cpp-host copyToPointerSize: empty ⇒ ptr 0/len 0 without calling the allocator; allocator
   * returning 0 ⇒ false (the hostcall then answers InvalidMemoryAccess).
   */
  copyOut(data: Uint8Array, ptrPtr: number, lenPtr: number): boolean {
    if (data.length === 0) {
      this.writeU32(ptrPtr, 0);
      this.writeU32(lenPtr, 0);
      return true;
    }
    const p = this.alloc(data.length) >>> 0;
    if (p === 0) return false;
    this.write(p, data);
    this.writeU32(ptrPtr, p);
    this.writeU32(lenPtr, data.length);
    return true;
  }
}
