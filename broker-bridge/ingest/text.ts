// Bytes → text for HTTP ingest without rewriting what a producer sent. A decoder that replaced bad
// bytes with U+FFFD would silently change a topic or a payload; instead every byte that is not part
// of a valid UTF-8 sequence becomes a lone surrogate (U+DC80 + byte, the "surrogateescape" trick).
// Valid UTF-8 can never produce a lone surrogate, so validation (validate/cloudevent.ts) finds them
// and refuses the event, naming the attribute.

import { isUtf8 } from 'node:buffer';

const marked = (byte: number): string => String.fromCharCode(0xdc00 + byte);

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number): boolean => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const c1 = b[i + 1] ?? 0;
    // No overlong forms (E0 80..9F) and no UTF-16 surrogates (ED A0..BF).
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return 0;
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const c1 = b[i + 1] ?? 0;
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return 0;
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** UTF-8 text of `bytes`; each invalid byte becomes a lone surrogate instead of U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let start = 0;
  let i = 0;
  while (i < buf.length) {
    const n = sequenceLength(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', start, i) + marked(buf[i]!);
    i++;
    start = i;
  }
  return out + buf.toString('utf8', start);
}

const hex = (c: number): number =>
  c >= 0x30 && c <= 0x39
    ? c - 0x30
    : c >= 0x41 && c <= 0x46
      ? c - 0x37
      : c >= 0x61 && c <= 0x66
        ? c - 0x57
        : -1;

/**
 * A binary-mode `ce-*` header value as text. The HTTP binding percent-encodes what headers cannot
 * carry, but other SDKs send values unencoded (cloudevents/spec#1397), so decoding is lenient: `%XX`
 * with two hex digits is a byte, any other `%` is itself. Node hands header values over as latin1
 * (one char per byte), so raw UTF-8 bytes are recovered before decoding.
 */
export function decodeHeaderValue(value: string): string {
  const raw = Buffer.from(value, 'latin1');
  if (!raw.includes(0x25)) return decodeUtf8(raw);
  const out = Buffer.allocUnsafe(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x25 && i + 2 < raw.length) {
      const hi = hex(raw[i + 1]!);
      const lo = hex(raw[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return decodeUtf8(out.subarray(0, n));
}
