// A small JSON parser that builds a tree, for the plugin configuration only (configure time, not
// the request path). Errors say where and what; it never traps and caps nesting at MAX_DEPTH.
import { ByteBuf } from "./bytes";
import { MAX_DEPTH, scalarText, skipString, skipValue, skipWs } from "./json";

export enum JKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

export function kindName(k: JKind): string {
  switch (k) {
    case JKind.Null: return "null";
    case JKind.Bool: return "a boolean";
    case JKind.Number: return "a number";
    case JKind.String: return "a string";
    case JKind.Array: return "an array";
    default: return "an object";
  }
}

export class JNode {
  bool: bool = false;
  num: f64 = 0;
  str: string = "";
  /** Array items, or object member values (in order, parallel to `keys`). */
  items: Array<JNode> = [];
  keys: Array<string> = [];

  constructor(public kind: JKind) {}

  /** Member `key` of an object, or null. */
  get(key: string): JNode | null {
    for (let i = 0; i < this.keys.length; i++) if (unchecked(this.keys[i]) == key) return unchecked(this.items[i]);
    return null;
  }
}

export class JsonTree {
  error: string = "";
  private p: usize = 0;
  private end: i32 = 0;

  /** Parses exactly one JSON value from `src`; null with `error` set when it is not valid JSON. */
  parse(src: ArrayBuffer): JNode | null {
    this.p = changetype<usize>(src);
    this.end = src.byteLength;
    // Validate first with the scanner (no tree, bounded depth): the tree builder may then trust it.
    const e = skipValue(this.p, 0, this.end, 0);
    if (e < 0 || skipWs(this.p, e, this.end) != this.end) {
      this.error = this.end == 0
        ? "the configuration is empty; give a JSON object (see common/emitter-config.schema.json)"
        : "the configuration is not valid JSON (or nests deeper than " + MAX_DEPTH.toString() + " levels)";
      return null;
    }
    const node = this.value(skipWs(this.p, 0, this.end));
    return this.error.length ? null : node;
  }

  private pos: i32 = 0;

  private value(i: i32): JNode {
    const c = <u32>load<u8>(this.p + <usize>i);
    if (c == 0x22) {
      const n = new JNode(JKind.String);
      const e = skipString(this.p, i, this.end);
      n.str = this.decode(i, e);
      this.pos = e;
      return n;
    }
    if (c == 0x7b || c == 0x5b) return this.container(i, c == 0x7b);
    const e = skipValue(this.p, i, this.end, 0);
    this.pos = e;
    if (c == 0x74 || c == 0x66) {
      const n = new JNode(JKind.Bool);
      n.bool = c == 0x74;
      return n;
    }
    if (c == 0x6e) return new JNode(JKind.Null);
    const n = new JNode(JKind.Number);
    n.num = parseFloat(String.UTF8.decodeUnsafe(this.p + <usize>i, <usize>(e - i)));
    return n;
  }

  private container(i: i32, obj: bool): JNode {
    const n = new JNode(obj ? JKind.Object : JKind.Array);
    const close: u32 = obj ? 0x7d : 0x5d;
    i = skipWs(this.p, i + 1, this.end);
    if (<u32>load<u8>(this.p + <usize>i) == close) {
      this.pos = i + 1;
      return n;
    }
    while (true) {
      if (obj) {
        const ke = skipString(this.p, i, this.end);
        const key = this.decode(i, ke);
        if (n.keys.includes(key) && !this.error.length) this.error = 'duplicate key "' + key + '" in the configuration JSON';
        n.keys.push(key);
        i = skipWs(this.p, ke, this.end) + 1; // past ':'
        i = skipWs(this.p, i, this.end);
      }
      n.items.push(this.value(i));
      i = skipWs(this.p, this.pos, this.end);
      if (<u32>load<u8>(this.p + <usize>i) == close) {
        this.pos = i + 1;
        return n;
      }
      i = skipWs(this.p, i + 1, this.end); // past ','
    }
  }

  private decode(s: i32, e: i32): string {
    const out = new ByteBuf(e - s);
    scalarText(this.p, s, e, out);
    return String.UTF8.decodeUnsafe(out.ptr, <usize>out.len);
  }
}
