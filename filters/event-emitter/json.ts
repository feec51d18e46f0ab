// A JSON scanner over raw bytes for request/response bodies: validates, finds a dotted path,
// reads scalars and copies a value with fields redacted. It never traps and never recurses
// deeper than MAX_DEPTH, whatever the input (broken JSON, invalid UTF-8, deep nesting): every
// function reports failure as -1 / false instead.
import { ByteBuf } from "./bytes";
import { utf8SeqLen } from "./utf8";

export const MAX_DEPTH: i32 = 64;
const REDACTED = '"[redacted]"';

/** A dotted path into JSON ("card.number"): one UTF-8 segment per level; digits index arrays. */
export class JsonPath {
  constructor(public segs: Array<ArrayBuffer>, public text: string) {}
}

@inline function at(p: usize, i: i32): u32 {
  return <u32>load<u8>(p + <usize>i);
}

export function skipWs(p: usize, i: i32, end: i32): i32 {
  while (i < end) {
    const c = at(p, i);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    i++;
  }
  return i;
}

@inline function isHex(c: u32): bool {
  return c - 48 < 10 || (c | 32) - 97 < 6;
}

/** i at the opening quote; returns the index after the closing quote, or -1. */
export function skipString(p: usize, i: i32, end: i32): i32 {
  i++;
  while (i < end) {
    const c = at(p, i);
    if (c == 0x22) return i + 1;
    if (c == 0x5c) {
      if (i + 1 >= end) return -1;
      const e = at(p, i + 1);
      if (e == 0x75) {
        if (i + 6 > end) return -1;
        for (let k = 2; k < 6; k++) if (!isHex(at(p, i + k))) return -1;
        i += 6;
      } else if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
        i += 2;
      } else return -1;
    } else if (c < 0x20) {
      return -1;
    } else if (c < 0x80) {
      i++;
    } else {
      const n = utf8SeqLen(p, i, end);
      if (n == 0) return -1;
      i += n;
    }
  }
  return -1;
}

function skipDigits(p: usize, i: i32, end: i32): i32 {
  while (i < end && at(p, i) - 48 < 10) i++;
  return i;
}

function skipNumber(p: usize, i: i32, end: i32): i32 {
  if (at(p, i) == 0x2d) i++;
  if (i >= end) return -1;
  const first = at(p, i);
  if (first == 0x30) i++;
  else if (first - 49 < 9) i = skipDigits(p, i, end);
  else return -1;
  if (i < end && at(p, i) == 0x2e) {
    const j = skipDigits(p, i + 1, end);
    if (j == i + 1) return -1;
    i = j;
  }
  if (i < end && (at(p, i) | 32) == 0x65) {
    i++;
    if (i < end && (at(p, i) == 0x2b || at(p, i) == 0x2d)) i++;
    const j = skipDigits(p, i, end);
    if (j == i) return -1;
    i = j;
  }
  return i;
}

function skipWord(p: usize, i: i32, end: i32, word: string): i32 {
  const n = word.length;
  if (i + n > end) return -1;
  for (let k = 0; k < n; k++) if (at(p, i + k) != <u32>word.charCodeAt(k)) return -1;
  return i + n;
}

/** Skips one value starting at (or after whitespace from) i; returns the index after it, or -1. */
export function skipValue(p: usize, i: i32, end: i32, depth: i32): i32 {
  i = skipWs(p, i, end);
  if (i >= end) return -1;
  const c = at(p, i);
  if (c == 0x22) return skipString(p, i, end);
  if (c == 0x7b || c == 0x5b) {
    if (depth >= MAX_DEPTH) return -1;
    const obj = c == 0x7b;
    const close: u32 = obj ? 0x7d : 0x5d;
    i = skipWs(p, i + 1, end);
    if (i < end && at(p, i) == close) return i + 1;
    while (true) {
      if (obj) {
        if (i >= end || at(p, i) != 0x22) return -1;
        i = skipString(p, i, end);
        if (i < 0) return -1;
        i = skipWs(p, i, end);
        if (i >= end || at(p, i) != 0x3a) return -1;
        i++;
      }
      i = skipValue(p, i, end, depth + 1);
      if (i < 0) return -1;
      i = skipWs(p, i, end);
      if (i >= end) return -1;
      const d = at(p, i);
      if (d == close) return i + 1;
      if (d != 0x2c) return -1;
      i = skipWs(p, i + 1, end);
    }
  }
  if (c == 0x74) return skipWord(p, i, end, "true");
  if (c == 0x66) return skipWord(p, i, end, "false");
  if (c == 0x6e) return skipWord(p, i, end, "null");
  return skipNumber(p, i, end);
}

/** True when [start, end) holds exactly one JSON value (surrounding whitespace allowed). */
export function isJson(p: usize, start: i32, end: i32): bool {
  const e = skipValue(p, start, end, 0);
  return e >= 0 && skipWs(p, e, end) == end;
}

/** Where findPath/findMember left the value it found: [valueStart, valueEnd). */
export let valueStart: i32 = 0;
export let valueEnd: i32 = 0;

function keyEquals(p: usize, ks: i32, ke: i32, seg: ArrayBuffer): bool {
  const n = seg.byteLength;
  return ke - ks == n && memory.compare(p + <usize>ks, changetype<usize>(seg), <usize>n) == 0;
}

/** Array index a segment spells (digits only), or -1. */
function segIndex(seg: ArrayBuffer): i32 {
  const n = seg.byteLength;
  if (n == 0 || n > 6) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = <u32>load<u8>(changetype<usize>(seg) + <usize>k) - 48;
    if (d >= 10) return -1;
    v = v * 10 + <i32>d;
  }
  return v;
}

/** Finds member `seg` of the object (or element of the array) at i; sets valueStart/End. */
function findMember(p: usize, i: i32, end: i32, seg: ArrayBuffer): bool {
  i = skipWs(p, i, end);
  if (i >= end) return false;
  const c = at(p, i);
  if (c != 0x7b && c != 0x5b) return false;
  const obj = c == 0x7b;
  const want = obj ? 0 : segIndex(seg);
  if (want < 0) return false;
  const close: u32 = obj ? 0x7d : 0x5d;
  let index = 0;
  i = skipWs(p, i + 1, end);
  if (i < end && at(p, i) == close) return false;
  while (true) {
    let hit = false;
    if (obj) {
      if (i >= end || at(p, i) != 0x22) return false;
      const ke = skipString(p, i, end);
      if (ke < 0) return false;
      hit = keyEquals(p, i + 1, ke - 1, seg);
      i = skipWs(p, ke, end);
      if (i >= end || at(p, i) != 0x3a) return false;
      i = skipWs(p, i + 1, end);
    } else {
      hit = index == want;
    }
    const ve = skipValue(p, i, end, 1);
    if (ve < 0) return false;
    if (hit) {
      valueStart = i;
      valueEnd = ve;
      return true;
    }
    index++;
    i = skipWs(p, ve, end);
    if (i >= end || at(p, i) != 0x2c) return false;
    i = skipWs(p, i + 1, end);
  }
}

/** Finds `path` inside the value at [start, end); on success valueStart/valueEnd bound it. */
export function findPath(p: usize, start: i32, end: i32, path: JsonPath): bool {
  let s = start;
  let e = end;
  const segs = path.segs;
  for (let k = 0; k < segs.length; k++) {
    if (!findMember(p, s, e, unchecked(segs[k]))) return false;
    s = valueStart;
    e = valueEnd;
  }
  valueStart = skipWs(p, s, e);
  valueEnd = e;
  return true;
}

function hexVal(c: u32): u32 {
  return c - 48 < 10 ? c - 48 : (c | 32) - 87;
}

function putCodePoint(out: ByteBuf, cp: u32): void {
  if (cp < 0x80) out.byte(<u8>cp);
  else if (cp < 0x800) {
    out.byte(<u8>(0xc0 | (cp >> 6)));
    out.byte(<u8>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.byte(<u8>(0xe0 | (cp >> 12)));
    out.byte(<u8>(0x80 | ((cp >> 6) & 0x3f)));
    out.byte(<u8>(0x80 | (cp & 0x3f)));
  } else {
    out.byte(<u8>(0xf0 | (cp >> 18)));
    out.byte(<u8>(0x80 | ((cp >> 12) & 0x3f)));
    out.byte(<u8>(0x80 | ((cp >> 6) & 0x3f)));
    out.byte(<u8>(0x80 | (cp & 0x3f)));
  }
}

function hex4(p: usize, i: i32): u32 {
  return (hexVal(at(p, i)) << 12) | (hexVal(at(p, i + 1)) << 8) | (hexVal(at(p, i + 2)) << 4) | hexVal(at(p, i + 3));
}

/** Appends the decoded content of the (already validated) string at [s, e) to `out`. */
function unescapeInto(p: usize, s: i32, e: i32, out: ByteBuf): void {
  let i = s + 1;
  const stop = e - 1;
  while (i < stop) {
    const c = at(p, i);
    if (c != 0x5c) {
      out.byte(<u8>c);
      i++;
      continue;
    }
    const x = at(p, i + 1);
    if (x == 0x75) {
      let cp = hex4(p, i + 2);
      i += 6;
      if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= stop && at(p, i) == 0x5c && at(p, i + 1) == 0x75) {
        const lo = hex4(p, i + 2);
        if (lo >= 0xdc00 && lo < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i += 6;
        }
      }
      if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; // lone surrogate
      putCodePoint(out, cp);
      continue;
    }
    out.byte(<u8>(x == 0x62 ? 8 : x == 0x66 ? 12 : x == 0x6e ? 10 : x == 0x72 ? 13 : x == 0x74 ? 9 : x));
    i += 2;
  }
}

/**
 * Appends the text of the scalar at [s, e) to `out`: a string's decoded content, or a number /
 * true / false as written. Objects, arrays and null have no text: returns false.
 */
export function scalarText(p: usize, s: i32, e: i32, out: ByteBuf): bool {
  if (s >= e) return false;
  const c = at(p, s);
  if (c == 0x22) {
    unescapeInto(p, s, e, out);
    return true;
  }
  if (c == 0x7b || c == 0x5b || c == 0x6e) return false;
  out.raw(p + <usize>s, e - s);
  return true;
}

/**
 * Copies the (validated) value at [s, e) to `out`, replacing the values of the `redact` paths
 * (bit k of `mask` alive ⇔ redact[k] still matches at `level`) with "[redacted]". Arrays are
 * transparent: a path applies to every element. Returns false if the input turns out malformed.
 */
export function copyRedacted(p: usize, s: i32, e: i32, redact: Array<JsonPath>, mask: u32, level: i32, out: ByteBuf): bool {
  s = skipWs(p, s, e);
  if (s >= e) return false;
  const c = at(p, s);
  if (mask == 0 || (c != 0x7b && c != 0x5b) || level >= MAX_DEPTH) {
    out.raw(p + <usize>s, e - s);
    return true;
  }
  const obj = c == 0x7b;
  out.byte(<u8>c);
  const close: u32 = obj ? 0x7d : 0x5d;
  let i = skipWs(p, s + 1, e);
  if (i < e && at(p, i) == close) {
    out.byte(<u8>close);
    return true;
  }
  while (true) {
    let childMask = mask;
    let nextLevel = level;
    let hide = false;
    if (obj) {
      if (i >= e || at(p, i) != 0x22) return false;
      const ke = skipString(p, i, e);
      if (ke < 0) return false;
      childMask = 0;
      nextLevel = level + 1;
      for (let k = 0; k < redact.length; k++) {
        if (((mask >> <u32>k) & 1) == 0) continue;
        const segs = unchecked(redact[k]).segs;
        if (level < segs.length && keyEquals(p, i + 1, ke - 1, unchecked(segs[level]))) {
          if (level + 1 == segs.length) hide = true;
          else childMask |= <u32>1 << <u32>k;
        }
      }
      out.raw(p + <usize>i, ke - i);
      out.byte(0x3a);
      i = skipWs(p, ke, e);
      if (i >= e || at(p, i) != 0x3a) return false;
      i = skipWs(p, i + 1, e);
    }
    const ve = skipValue(p, i, e, level + 1);
    if (ve < 0) return false;
    if (hide) out.ascii(REDACTED);
    else if (!copyRedacted(p, i, ve, redact, childMask, nextLevel, out)) return false;
    i = skipWs(p, ve, e);
    if (i >= e) return false;
    const d = at(p, i);
    if (d == close) {
      out.byte(<u8>close);
      return true;
    }
    if (d != 0x2c) return false;
    out.byte(0x2c);
    i = skipWs(p, i + 1, e);
  }
}
