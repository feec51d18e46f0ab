// Writes arbitrary bytes (header values, paths, body fields) as JSON string content: escapes
// quotes, backslashes and control characters, and replaces malformed UTF-8 with U+FFFD, so the
// event JSON is always valid whatever the request carried.
import { ByteBuf } from "./bytes";
import { utf8SeqLen } from "./utf8";

const HEX = "0123456789abcdef";

/** Appends the escaped content of [p, p+n) (no surrounding quotes). */
function escapeInto(out: ByteBuf, p: usize, n: i32): void {
  out.ensure(n);
  let i = 0;
  let run = 0; // start of the pending run of bytes that need no escaping
  while (i < n) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c && c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0x80) {
      const len = utf8SeqLen(p, i, n);
      if (len > 0) {
        i += len;
        continue;
      }
    }
    out.raw(p + <usize>run, i - run);
    if (c == 0x22) out.ascii('\\"');
    else if (c == 0x5c) out.ascii("\\\\");
    else if (c == 0x0a) out.ascii("\\n");
    else if (c == 0x0d) out.ascii("\\r");
    else if (c == 0x09) out.ascii("\\t");
    else if (c < 0x20) {
      out.ascii("\\u00");
      out.byte(<u8>HEX.charCodeAt(c >> 4));
      out.byte(<u8>HEX.charCodeAt(c & 15));
    } else {
      out.byte(0xef); // U+FFFD for a malformed sequence
      out.byte(0xbf);
      out.byte(0xbd);
    }
    i++;
    run = i;
  }
  out.raw(p + <usize>run, n - run);
}

/** Appends `"<escaped bytes>"`. */
export function quotedInto(out: ByteBuf, p: usize, n: i32): void {
  out.byte(0x22);
  escapeInto(out, p, n);
  out.byte(0x22);
}

/** The bytes `,"name":` — built once per attribute name, appended with ByteBuf.bytes. */
export function member(name: string): ArrayBuffer {
  return String.UTF8.encode(',"' + name + '":');
}
