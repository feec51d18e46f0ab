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

// Every event of one second shares "YYYY-MM-DDTHH:MM:SS.": the civil-date arithmetic (a few
// dozen i64 divisions) runs once per second of wall clock, not once per event. Each event still
// gets its own clock reading and its own milliseconds.
const PREFIX_LEN: i32 = 20;
const prefix: usize = memory.data(PREFIX_LEN);
let prefixSecond: i64 = -1;

/** Writes "YYYY-MM-DDTHH:MM:SS." for `secs` seconds since the epoch at p. */
function secondPrefix(p: usize, secs: i64): void {
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
  store<u8>(p, 0x2e);
}

/** Appends e.g. 2026-11-27T17:30:00.123Z for `ns` nanoseconds since the epoch. */
export function rfc3339Into(out: ByteBuf, ns: u64): void {
  const ms = <i64>(ns / 1000000);
  const secs = ms / 1000;
  if (secs != prefixSecond) {
    secondPrefix(prefix, secs);
    prefixSecond = secs;
  }
  const p = out.claim(PREFIX_LEN + 4);
  memory.copy(p, prefix, <usize>PREFIX_LEN);
  const milli = <i32>(ms % 1000);
  store<u8>(p + <usize>PREFIX_LEN, <u8>(48 + milli / 100));
  store<u8>(p + <usize>PREFIX_LEN + 1, <u8>(48 + (milli / 10) % 10));
  store<u8>(p + <usize>PREFIX_LEN + 2, <u8>(48 + milli % 10));
  store<u8>(p + <usize>PREFIX_LEN + 3, 0x5a);
}
