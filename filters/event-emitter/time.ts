// RFC 3339 timestamps (UTC, millisecond precision) from Envoy's wall clock in nanoseconds.
import { ByteBuf } from "./bytes";

function pad(out: ByteBuf, v: i64, width: i32): void {
  let div: i64 = 1;
  for (let k = 1; k < width; k++) div *= 10;
  for (let k = 0; k < width; k++) {
    out.byte(<u8>(48 + <i32>((v / div) % 10)));
    div /= 10;
  }
}

/** Appends e.g. 2026-11-27T17:30:00.123Z for `ns` nanoseconds since the epoch. */
export function rfc3339Into(out: ByteBuf, ns: u64): void {
  const ms = <i64>(ns / 1000000);
  const secs = ms / 1000;
  let days = secs / 86400;
  const rem = secs % 86400;
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  days += 719468;
  const era = days / 146097;
  const doe = days - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const d = doy - (153 * mp + 2) / 5 + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  pad(out, y, 4);
  out.byte(0x2d);
  pad(out, m, 2);
  out.byte(0x2d);
  pad(out, d, 2);
  out.byte(0x54);
  pad(out, rem / 3600, 2);
  out.byte(0x3a);
  pad(out, (rem / 60) % 60, 2);
  out.byte(0x3a);
  pad(out, rem % 60, 2);
  out.byte(0x2e);
  pad(out, ms % 1000, 3);
  out.byte(0x5a);
}
