// Guest linear-memory access. Views are re-created on every access because any call into the
// module (its allocator included) may grow memory and detach older ArrayBuffers (§2.16 point 3).

/** Thrown by a hostcall when the guest passed a pointer outside its memory. */
export class GuestMemoryError extends Error {
  override name = 'GuestMemoryError';
}

export class GuestMemory {
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly alloc: (size: number) => number,
  ) {}

  /** Current size of the linear memory in bytes (it never shrinks). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  private bytes(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }
  private check(ptr: number, len: number): void {
    if (ptr < 0 || len < 0 || ptr + len > this.memory.buffer.byteLength) {
      throw new GuestMemoryError(
        `guest pointer ${ptr}+${len} is outside linear memory (${this.memory.buffer.byteLength} bytes)`,
      );
    }
  }
  /** A copy of guest bytes (copies so later memory growth cannot detach it). */
  read(ptr: number, len: number): Buffer {
    ptr >>>= 0;
    len >>>= 0;
    this.check(ptr, len);
    return Buffer.from(new Uint8Array(this.memory.buffer, ptr, len)); // one copy, detached from memory
  }
  readString(ptr: number, len: number): string {
    return this.read(ptr, len).toString('utf8');
  }
  writeU32(ptr: number, value: number): void {
    ptr >>>= 0;
    this.check(ptr, 4);
    new DataView(this.memory.buffer).setUint32(ptr, value >>> 0, true);
  }
  writeU64(ptr: number, value: bigint): void {
    ptr >>>= 0;
    this.check(ptr, 8);
    new DataView(this.memory.buffer).setBigUint64(ptr, BigInt.asUintN(64, value), true);
  }
  readU32(ptr: number): number {
    ptr >>>= 0;
    this.check(ptr, 4);
    return new DataView(this.memory.buffer).getUint32(ptr, true);
  }
  write(ptr: number, data: Uint8Array): void {
    ptr >>>= 0;
    this.check(ptr, data.length);
    this.bytes().set(data, ptr);
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
