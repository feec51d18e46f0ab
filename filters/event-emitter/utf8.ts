// UTF-8 validation over raw bytes, shared by the JSON scanner, the JSON writer and the topic check.

/** Length (1-4) of the well-formed UTF-8 sequence at p[i], or 0 when it is malformed or cut at `end`. */
export function utf8SeqLen(p: usize, i: i32, end: i32): i32 {
  const c = <u32>load<u8>(p + <usize>i);
  if (c < 0x80) return 1;
  let n: i32;
  let lo: u32 = 0x80;
  let hi: u32 = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f; // no UTF-16 surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > end) return 0;
  const c1 = <u32>load<u8>(p + <usize>i + 1);
  if (c1 < lo || c1 > hi) return 0;
  for (let k = 2; k < n; k++) {
    const ck = <u32>load<u8>(p + <usize>(i + k));
    if ((ck & 0xc0) != 0x80) return 0;
  }
  return n;
}

/** Code point of the valid sequence of length `n` at p[i]. */
export function utf8Decode(p: usize, i: i32, n: i32): u32 {
  const c = <u32>load<u8>(p + <usize>i);
  if (n == 1) return c;
  let cp: u32 = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
  for (let k = 1; k < n; k++) cp = (cp << 6) | (<u32>load<u8>(p + <usize>(i + k)) & 0x3f);
  return cp;
}

/** True for the characters JavaScript's /\s/ matches (the topic grammar in common/topic.ts uses it). */
export function isJsWhitespace(cp: u32): bool {
  if (cp == 0x20 || (cp >= 0x09 && cp <= 0x0d)) return true;
  if (cp < 0xa0) return false;
  return (
    cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
    cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff
  );
}
