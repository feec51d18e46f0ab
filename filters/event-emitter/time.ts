// RFC 3339 timestamps (UTC, millisecond precision) from Envoy's wall clock in nanoseconds.
import { ByteBuf } from "./bytes";

/** Writes `v` as `width` digits at p; returns the address after them. */
function pad(p: usize, v: i64, width: i32): usize {
  for (let k = width - 1; k >= 0; k--) {
    store<u8>(p + <usize>k, <u8>(48 + <i32>(v % 10)));
    v /= 10;
  }
  return p + <usize>width;
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
  let p = out.claim(24);
  p = pad(p, y, 4);
  store<u8>(p++, 0x2d);
  p = pad(p, m, 2);
  store<u8>(p++, 0x2d);
  p = pad(p, d, 2);
  store<u8>(p++, 0x54);
  p = pad(p, rem / 3600, 2);
  store<u8>(p++, 0x3a);
  p = pad(p, (rem / 60) % 60, 2);
  store<u8>(p++, 0x3a);
  p = pad(p, rem % 60, 2);
  store<u8>(p++, 0x2e);
  p = pad(p, ms % 1000, 3);
  store<u8>(p, 0x5a);
}
