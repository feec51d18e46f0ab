// The route's event annotation, read from Envoy's `xds.route_metadata` property: the serialized
// envoy.config.core.v3.Metadata of the matched route (filter_metadata = field 1, a
// map<string, google.protobuf.Struct>). There is no protobuf library for AssemblyScript and we need
// one map entry, so this is a minimal wire-format reader. Every read is bounds-checked: malformed
// bytes mean "no annotation", never a trap.
//   findAnnotation — per request, allocation-free: where the "sidecast.io/event" Struct sits.
//   decodeStruct   — once per route and metadata version: that Struct as a JNode tree.
import { bytesEqual } from "./bytes";
import { JKind, JNode } from "./json-tree";

export const ANNOTATION_KEY = String.UTF8.encode("sidecast.io/event");
const MAX_NESTING: i32 = 32;

const WIRE_VARINT: u32 = 0;
const WIRE_FIXED64: u32 = 1;
const WIRE_LEN: u32 = 2;
const WIRE_FIXED32: u32 = 5;

// The reader's cursor (module state, so the per-request scan allocates nothing).
let at: usize = 0;
let end: usize = 0;
let broken: bool = false;

function varint(): u64 {
  let v: u64 = 0;
  for (let shift: u64 = 0; shift < 64; shift += 7) {
    if (at >= end) break;
    const b = <u64>load<u8>(at++);
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  broken = true;
  return 0;
}

/** Reads a length prefix; the field's bytes are [at, at + n) (and `at` is left at their start). */
function length(): usize {
  const n = varint();
  if (broken || n > <u64>(end - at)) {
    broken = true;
    return 0;
  }
  return <usize>n;
}

/** Skips one field's value of wire type `wt`. */
function skip(wt: u32): void {
  if (wt == WIRE_VARINT) varint();
  else if (wt == WIRE_FIXED64 || wt == WIRE_FIXED32) {
    const n: usize = wt == WIRE_FIXED64 ? 8 : 4;
    if (end - at < n) broken = true;
    else at += n;
  } else if (wt == WIRE_LEN) at += length();
  else broken = true; // groups (3, 4) and reserved types do not occur in these messages
}

/** Set by findAnnotation: the Struct bytes of "sidecast.io/event", [annotationPtr, +annotationLen). */
export let annotationPtr: usize = 0;
export let annotationLen: i32 = 0;

/**
 * Scans a serialized Metadata for filter_metadata["sidecast.io/event"] (the last entry wins, as in
 * protobuf maps). False when the route has no such entry or the bytes are not a Metadata.
 */
export function findAnnotation(p: usize, n: i32): bool {
  at = p;
  end = p + <usize>n;
  broken = false;
  let found = false;
  while (at < end && !broken) {
    const tag = <u32>varint();
    if (broken) break;
    if (tag >> 3 != 1 || (tag & 7) != WIRE_LEN) {
      skip(tag & 7);
      continue;
    }
    const entryLen = length();
    const entryEnd = at + entryLen;
    const outerEnd = end;
    end = entryEnd;
    let isOurs = false;
    let vp: usize = 0;
    let vn: usize = 0;
    while (at < end && !broken) {
      const t = <u32>varint();
      if (broken) break;
      if ((t & 7) != WIRE_LEN || (t >> 3 != 1 && t >> 3 != 2)) {
        skip(t & 7);
        continue;
      }
      const fn = length();
      if (t >> 3 == 1) isOurs = bytesEqual(at, <i32>fn, changetype<usize>(ANNOTATION_KEY), ANNOTATION_KEY.byteLength);
      else {
        vp = at;
        vn = fn;
      }
      at += fn;
    }
    end = outerEnd;
    at = entryEnd;
    if (!broken && isOurs) {
      found = true;
      annotationPtr = vp;
      annotationLen = <i32>vn;
    }
  }
  return found && !broken;
}

/** The Struct at [p, p + n) as an object node; null when the bytes are malformed. */
export function decodeStruct(p: usize, n: i32): JNode | null {
  at = p;
  end = p + <usize>n;
  broken = false;
  const node = struct(0);
  return broken ? null : node;
}

/** Struct { map<string, Value> fields = 1 } up to `end`. */
function struct(depth: i32): JNode {
  const node = new JNode(JKind.Object);
  if (depth > MAX_NESTING) {
    broken = true;
    return node;
  }
  while (at < end && !broken) {
    const tag = <u32>varint();
    if (broken) break;
    if (tag != ((1 << 3) | WIRE_LEN)) {
      skip(tag & 7);
      continue;
    }
    const entryLen = length();
    const entryEnd = at + entryLen;
    const outerEnd = end;
    end = entryEnd;
    let key = "";
    let value: JNode = new JNode(JKind.Null);
    while (at < end && !broken) {
      const t = <u32>varint();
      if (broken) break;
      if (t == ((1 << 3) | WIRE_LEN)) {
        const kn = length();
        key = String.UTF8.decodeUnsafe(at, kn);
        at += kn;
      } else if (t == ((2 << 3) | WIRE_LEN)) {
        const vLen = length();
        const vEnd = at + vLen;
        const inner = end;
        end = vEnd;
        value = valueOf(depth + 1);
        end = inner;
        at = vEnd;
      } else skip(t & 7);
    }
    end = outerEnd;
    at = entryEnd;
    // Protobuf map semantics: a repeated key replaces the earlier value.
    const i = node.keys.indexOf(key);
    if (i >= 0) unchecked((node.items[i] = value));
    else {
      node.keys.push(key);
      node.items.push(value);
    }
  }
  return node;
}

/** google.protobuf.Value up to `end` (a Value with no kind set reads as null). */
function valueOf(depth: i32): JNode {
  let node = new JNode(JKind.Null);
  while (at < end && !broken) {
    const tag = <u32>varint();
    if (broken) break;
    const field = tag >> 3;
    const wt = tag & 7;
    if (field == 1 && wt == WIRE_VARINT) {
      varint();
      node = new JNode(JKind.Null);
    } else if (field == 2 && wt == WIRE_FIXED64) {
      if (end - at < 8) {
        broken = true;
        break;
      }
      node = new JNode(JKind.Number);
      node.num = load<f64>(at);
      at += 8;
    } else if (field == 3 && wt == WIRE_LEN) {
      const sn = length();
      node = new JNode(JKind.String);
      node.str = String.UTF8.decodeUnsafe(at, sn);
      at += sn;
    } else if (field == 4 && wt == WIRE_VARINT) {
      node = new JNode(JKind.Bool);
      node.bool = varint() != 0;
    } else if ((field == 5 || field == 6) && wt == WIRE_LEN) {
      const subLen = length();
      const sub = at + subLen;
      const outer = end;
      end = sub;
      node = field == 5 ? struct(depth + 1) : list(depth + 1);
      end = outer;
      at = sub;
    } else skip(wt);
  }
  return node;
}

/** ListValue { repeated Value values = 1 } up to `end`. */
function list(depth: i32): JNode {
  const node = new JNode(JKind.Array);
  if (depth > MAX_NESTING) {
    broken = true;
    return node;
  }
  while (at < end && !broken) {
    const tag = <u32>varint();
    if (broken) break;
    if (tag != ((1 << 3) | WIRE_LEN)) {
      skip(tag & 7);
      continue;
    }
    const vLen = length();
    const vEnd = at + vLen;
    const outer = end;
    end = vEnd;
    node.items.push(valueOf(depth + 1));
    end = outer;
    at = vEnd;
  }
  return node;
}
