// The proxy-wasm "pairs" wire format (reference §1.5) and the header map Envoy keeps.

/** One header/metadata entry. Values are bytes: header values need not be UTF-8. */
export type Pair = [string, Buffer];
/** What tests pass in: an object, or ordered [name, value] pairs (repeats allowed). */
export type HeadersInit =
  Record<string, string | string[]> | ReadonlyArray<readonly [string, string | Uint8Array]>;

const MAX_PAIRS = 1024; // cpp-host limits.h PROXY_WASM_HOST_PAIRS_MAX_COUNT
const MAX_PAIRS_BYTES = 1024 * 1024; // PROXY_WASM_HOST_PAIRS_MAX_BYTES

/** UTF-8 byte length; equal to s.length exactly when `s` is ASCII (header names usually are). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

export function encodePairs(pairs: ReadonlyArray<readonly [string | Uint8Array, Uint8Array]>): Buffer {
  // Sizes first, then one buffer written in place: no Buffer per key, and ASCII keys copied
  // char by char (cheaper than a native UTF-8 write for short names). Runs on every
  // get_header_map_pairs.
  const n = pairs.length;
  const keyLens = new Array<number>(n);
  let size = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const [k, v] = pairs[i]!;
    const kl = typeof k === 'string' ? utf8Length(k) : k.length;
    keyLens[i] = kl;
    size += kl + v.length + 2;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(n, 0);
  let pos = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const [k, v] = pairs[i]!;
    const kl = keyLens[i]!;
    out.writeUInt32LE(kl, 4 + i * 8);
    out.writeUInt32LE(v.length, 8 + i * 8);
    if (typeof k !== 'string') out.set(k, pos);
    else if (kl === k.length) for (let j = 0; j < kl; j++) out[pos + j] = k.charCodeAt(j);
    else out.write(k, pos, kl, 'utf8');
    pos += kl;
    out[pos++] = 0;
    out.set(v, pos);
    pos += v.length;
    out[pos++] = 0;
  }
  return out;
}

/**
 * Strict parse as cpp-host's PairsUtil::toPairs: any malformation (short buffer, too many pairs,
 * too large, missing NUL, trailing bytes) yields an EMPTY list, never an error.
 */
export function decodePairs(buf: Uint8Array): Pair[] {
  if (buf.length < 4 || buf.length > MAX_PAIRS_BYTES) return [];
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.readUInt32LE(0);
  if (n > MAX_PAIRS) return [];
  let pos = 4 + n * 8;
  if (pos > view.length) return [];
  const out: Pair[] = [];
  for (let k = 0; k < n; k++) {
    const kl = view.readUInt32LE(4 + k * 8);
    const vl = view.readUInt32LE(8 + k * 8);
    if (pos + kl + vl + 2 > view.length || view[pos + kl] !== 0 || view[pos + kl + 1 + vl] !== 0) return [];
    const key = view.subarray(pos, pos + kl).toString('utf8');
    const value = Buffer.from(view.subarray(pos + kl + 1, pos + kl + 1 + vl));
    out.push([key, value]);
    pos += kl + vl + 2;
  }
  return pos === view.length ? out : [];
}

/** An Envoy header map: ordered, keys lowercased, repeats allowed (reference §2.5). */
export class HeaderMap {
  readonly entries: Pair[] = [];

  static from(init: HeadersInit | undefined): HeaderMap {
    const m = new HeaderMap();
    if (!init) return m;
    const list = Array.isArray(init)
      ? (init as ReadonlyArray<readonly [string, string | Uint8Array]>)
      : Object.entries(init as Record<string, string | string[]>).flatMap(([k, v]) =>
          Array.isArray(v) ? v.map((x) => [k, x] as const) : [[k, v] as const],
        );
    for (const [k, v] of list) m.add(k, typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));
    return m;
  }

  get size(): number {
    return this.entries.length;
  }
  /** First value only, as Envoy's getHeaderMapValue. */
  get(key: string): Buffer | undefined {
    const k = key.toLowerCase();
    for (const [n, v] of this.entries) if (n === k) return v;
    return undefined;
  }
  add(key: string, value: Buffer): void {
    this.entries.push([key.toLowerCase(), value]);
  }
  /** Sets the first occurrence, adds when absent. */
  replace(key: string, value: Buffer): void {
    const k = key.toLowerCase();
    const hit = this.entries.find(([n]) => n === k);
    if (hit) hit[1] = value;
    else this.entries.push([k, value]);
  }
  remove(key: string): void {
    const k = key.toLowerCase();
    for (let n = this.entries.length - 1; n >= 0; n--)
      if (this.entries[n]![0] === k) this.entries.splice(n, 1);
  }
  setAll(pairs: Pair[]): void {
    this.entries.length = 0;
    for (const [k, v] of pairs) this.add(k, v);
  }
  /** Envoy's byteSize(): sum of key and value lengths. */
  byteSize(): number {
    return this.entries.reduce((s, [k, v]) => s + Buffer.byteLength(k) + v.length, 0);
  }
  encode(): Buffer {
    return encodePairs(this.entries);
  }
  clone(): HeaderMap {
    const m = new HeaderMap();
    for (const [k, v] of this.entries) m.entries.push([k, Buffer.from(v)]);
    return m;
  }
  /** Plain view for assertions: repeated keys joined by ", " (the way Envoy's request.headers property shows them). */
  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    for (const [k, v] of this.entries) o[k] = k in o ? `${o[k]}, ${v.toString('utf8')}` : v.toString('utf8');
    return o;
  }
}
