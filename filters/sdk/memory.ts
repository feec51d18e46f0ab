// Memory exchanged with the host, without per-call heap allocation on the common path.
//
// Outgoing (module → host): arguments are UTF-8 encoded into a static "send arena" that is reset
// at the start of every wrapped host call; only arguments larger than the arena spill onto the heap
// (kept alive in `spill` until the next reset).
//
// Incoming (host → module): the host calls our exported `malloc` from inside a host call to place
// its result. Small results go to a static "receive area" (bump-allocated, reset per host call);
// larger ones get a fresh ArrayBuffer that is pinned (so a GC step re-entered from malloc cannot
// free it) until the wrapper adopts it with takeBytes/takeString — or until the next reset unpins
// it, if the host never reported it. Envoy defers every callback that a host call triggers, so a
// reset can never happen while an outer wrapper is still reading its result.
//
// Zero-copy readers (e.g. filters/event-emitter/host.ts) may call the raw imports themselves:
// resetExchange(); put*(); call; then read [load<usize>(retA), load<u32>(retB)) in place. Such a
// result stays valid until the next resetExchange (i.e. the next SDK host call), which also
// unpins it if it went to the heap.

const SEND_SIZE: usize = 16384;
const RECV_SIZE: usize = 16384;
const MAX_PINNED: i32 = 8;

const sendBase: usize = memory.data(<i32>SEND_SIZE, 16);
const recvBase: usize = memory.data(<i32>RECV_SIZE, 16);
/** Out-parameters of host calls (pointer, length, cas / code / token ...): one u64 slot each. */
export const retA: usize = memory.data(8, 8);
export const retB: usize = memory.data(8, 8);
export const retC: usize = memory.data(8, 8);

let sendUsed: usize = 0;
let recvUsed: usize = 0;
const spill = new Array<ArrayBuffer>(0);
const pinned = new StaticArray<usize>(MAX_PINNED);
let pinnedCount: i32 = 0;

/** Length in bytes of the last value placed by putString/putBytes/putPairs. */
export let putLen: usize = 0;
/** For encoders in other files (an imported `let` cannot be assigned there). */
export function setPutLen(n: usize): void {
  putLen = n;
}

/** Starts a host call: frees the previous call's arguments and unadopted results. */
export function resetExchange(): void {
  sendUsed = 0;
  recvUsed = 0;
  if (spill.length) spill.length = 0;
  for (let i = 0; i < pinnedCount; i++) __unpin(unchecked(pinned[i]));
  pinnedCount = 0;
}

/** Reserves `size` bytes for an outgoing argument; returns its address. */
export function reserve(size: usize): usize {
  const aligned = (size + 7) & ~<usize>7;
  if (sendUsed + aligned <= SEND_SIZE) {
    const p = sendBase + sendUsed;
    sendUsed += aligned;
    return p;
  }
  const buf = new ArrayBuffer(<i32>size);
  spill.push(buf);
  return changetype<usize>(buf);
}

/** Places `s` as UTF-8; returns its address, length in putLen. */
export function putString(s: string): usize {
  const n = <usize>String.UTF8.byteLength(s);
  const p = reserve(n);
  putLen = String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
  return p;
}

/** Address of `b`'s bytes (no copy), length in putLen; null ⇒ 0/0. */
export function putBytes(b: ArrayBuffer | null): usize {
  if (b === null) {
    putLen = 0;
    return 0;
  }
  putLen = <usize>b.byteLength;
  return changetype<usize>(b);
}

/** The module allocator the host calls (exported as `malloc`). Never traps: 0 ⇒ host reports failure. */
export function hostAlloc(size: usize): usize {
  const aligned = (size + 7) & ~<usize>7;
  if (recvUsed + aligned <= RECV_SIZE) {
    const p = recvBase + recvUsed;
    recvUsed += aligned;
    return p;
  }
  // Beyond ~768 MiB the GC's allocator would abort (trap) rather than fail: refuse instead.
  if (pinnedCount >= MAX_PINNED || size > <usize>0x3000_0000) return 0;
  const p = __pin(__new(size, idof<ArrayBuffer>()));
  unchecked((pinned[pinnedCount++] = p));
  return p;
}

/** Releases a host result that was read in place (no-op for the receive area). */
export function releaseResult(ptr: usize): bool {
  for (let i = 0; i < pinnedCount; i++) {
    if (unchecked(pinned[i]) == ptr) {
      __unpin(ptr);
      pinnedCount--;
      unchecked((pinned[i] = pinned[pinnedCount]));
      return true;
    }
  }
  return false;
}

/** Adopts a host result as an ArrayBuffer (copying only if it sits in the receive area). */
export function takeBytes(ptr: usize, len: usize): ArrayBuffer {
  if (ptr == 0 || len == 0) return new ArrayBuffer(0);
  if (releaseResult(ptr)) return changetype<ArrayBuffer>(ptr);
  const buf = new ArrayBuffer(<i32>len);
  memory.copy(changetype<usize>(buf), ptr, len);
  return buf;
}

/** Decodes a host result as UTF-8 (invalid bytes become U+FFFD) and releases it. */
export function takeString(ptr: usize, len: usize): string {
  if (ptr == 0 || len == 0) return "";
  const s = String.UTF8.decodeUnsafe(ptr, len);
  releaseResult(ptr);
  return s;
}
