// Request-side rule matching and the prefilter, reading captured bytes in place (no allocation).
import { MapType } from "../sdk";
import { bytesEqual, bytesEqualIgnoreCase } from "./bytes";
import { EmitterConfig, Rule } from "./config";
import { AUTHORITY, Exchange, foundLen, foundPtr, METHOD, PATH } from "./exchange";
import { peekHeader, peekLen, peekPtr } from "./host";

export function containsBytes(list: Array<ArrayBuffer>, p: usize, n: i32): bool {
  for (let i = 0; i < list.length; i++) {
    const b = unchecked(list[i]);
    if (bytesEqual(changetype<usize>(b), b.byteLength, p, n)) return true;
  }
  return false;
}

/** True when the first path segment of [p, p+n) is one of `segs`. */
function firstSegmentIn(segs: Array<ArrayBuffer>, p: usize, n: i32): bool {
  if (n < 2 || load<u8>(p) != 0x2f) return false;
  let e = 1;
  while (e < n) {
    const c = load<u8>(p + <usize>e);
    if (c == 0x2f || c == 0x3f || c == 0x23) break;
    e++;
  }
  return containsBytes(segs, p + 1, e - 1);
}

/**
 * The cheap test every request takes first, with ONE header read: the method when every rule
 * names methods, else the first path segment when every rule's path starts with a literal.
 * False ⇒ no rule can match; the filter does nothing more for this request.
 */
export function mayMatch(cfg: EmitterConfig): bool {
  if (cfg.methods.length > 0) {
    return peekHeader(MapType.HttpRequestHeaders, METHOD) && containsBytes(cfg.methods, peekPtr, peekLen);
  }
  if (cfg.firstSegments.length > 0) {
    return peekHeader(MapType.HttpRequestHeaders, PATH) && firstSegmentIn(cfg.firstSegments, peekPtr, peekLen);
  }
  return true;
}

/** The first-segment test on a captured exchange (after mayMatch checked the method). */
export function pathMayMatch(cfg: EmitterConfig, ex: Exchange): bool {
  return cfg.firstSegments.length == 0 || firstSegmentIn(cfg.firstSegments, ex.pathPtr, ex.pathLen);
}

/** :authority without the port (IPv6 literals keep their brackets). */
function hostMatches(want: ArrayBuffer, ex: Exchange): bool {
  if (!ex.header(AUTHORITY)) return false;
  let n = foundLen;
  for (let i = n - 1; i >= 0; i--) {
    const c = load<u8>(foundPtr + <usize>i);
    if (c == 0x3a) {
      n = i;
      break;
    }
    if (c == 0x5d || c < 0x30 || c > 0x39) break; // not a port
  }
  return bytesEqualIgnoreCase(changetype<usize>(want), want.byteLength, foundPtr, n);
}

/** All request-side conditions of `rule` (method, path, host, headers, route name). */
export function requestMatches(rule: Rule, ex: Exchange): bool {
  if (rule.methods.length > 0 && !containsBytes(rule.methods, ex.methodPtr, ex.methodLen)) return false;
  const path = rule.path;
  if (path !== null && !path.match(ex.pathPtr, ex.pathLen)) return false;
  const host = rule.host;
  if (host !== null && !hostMatches(host, ex)) return false;
  const conds = rule.headers;
  for (let i = 0; i < conds.length; i++) {
    const c = unchecked(conds[i]);
    const present = ex.header(c.name);
    const exact = c.exact;
    if (exact !== null) {
      if (!present || !bytesEqual(foundPtr, foundLen, changetype<usize>(exact), exact.byteLength)) return false;
    } else if (present != c.present) return false;
  }
  const route = rule.routeName;
  if (route !== null) {
    const have = ex.routeName;
    if (have === null || !bytesEqual(changetype<usize>(have), have.byteLength, changetype<usize>(route), route.byteLength)) return false;
  }
  return true;
}
