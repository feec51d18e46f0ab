// Path templates: "/accounts/{id}/cards/{rest...}". Literal segments match exactly, {name} matches
// one non-empty segment, {name...} (last only) matches one or more segments. The query string is
// not part of the match. Templates are parsed at configure time; matching reads the request path
// in place and allocates nothing.

const enum Seg {
  Literal = 0,
  Param = 1,
  Rest = 2,
}

export class PathTemplate {
  kinds: Array<i32> = [];
  /** Literal bytes for literal segments, empty for params. */
  lits: Array<ArrayBuffer> = [];
  /** Param names, in order of appearance. */
  names: Array<string> = [];
  /** Segment index of each param. */
  paramSeg: Array<i32> = [];
  /** Byte ranges of each segment in the last matched path (start, end pairs). */
  ranges: StaticArray<i32> = new StaticArray<i32>(0);
  restStart: i32 = 0;

  constructor(public text: string) {}

  paramIndex(name: string): i32 {
    return this.names.indexOf(name);
  }

  /** First segment when it is a literal (used to prefilter requests), else null. */
  firstLiteral(): ArrayBuffer | null {
    return this.kinds.length > 0 && unchecked(this.kinds[0]) == Seg.Literal ? unchecked(this.lits[0]) : null;
  }

  /**
   * Matches the path at [p, p+n) (query ignored). On success the byte range of param k is
   * [paramStart(k), paramEnd(k)) until the next match call.
   */
  match(p: usize, n: i32): bool {
    const q = pathEnd(p, n);
    if (q == 0 || load<u8>(p) != 0x2f) return false;
    const count = this.kinds.length;
    if (count == 0) return q == 1; // template "/"
    let i = 1;
    for (let k = 0; k < count; k++) {
      const kind = unchecked(this.kinds[k]);
      if (i > q) return false;
      if (kind == Seg.Rest) {
        if (i >= q) return false;
        unchecked((this.ranges[k * 2] = i));
        unchecked((this.ranges[k * 2 + 1] = q));
        return true;
      }
      let e = i;
      while (e < q && load<u8>(p + <usize>e) != 0x2f) e++;
      if (e == i) return false;
      if (kind == Seg.Literal) {
        const lit = unchecked(this.lits[k]);
        const len = lit.byteLength;
        if (e - i != len || memory.compare(p + <usize>i, changetype<usize>(lit), <usize>len) != 0) return false;
      }
      unchecked((this.ranges[k * 2] = i));
      unchecked((this.ranges[k * 2 + 1] = e));
      i = e + 1;
    }
    return i == q + 1; // consumed the whole path, no trailing "/"
  }

  paramStart(k: i32): i32 {
    return unchecked(this.ranges[unchecked(this.paramSeg[k]) * 2]);
  }
  paramEnd(k: i32): i32 {
    return unchecked(this.ranges[unchecked(this.paramSeg[k]) * 2 + 1]);
  }
}

/** Length of the path part of a request target (before "?" or "#"). */
export function pathEnd(p: usize, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + <usize>i);
    if (c == 0x3f || c == 0x23) return i;
  }
  return n;
}

/** Literal path segment characters: RFC 3986 pchar (unreserved, sub-delims, ":", "@", "%"). */
function isPchar(c: i32): bool {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57)) return true;
  return "-._~!$&'()*+,;=:@%".indexOf(String.fromCharCode(c)) >= 0;
}

function isIdentifier(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alpha = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95;
    if (!alpha && !(i > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

/** Parses a path template; on error returns null and sets pathTemplateError. */
export let pathTemplateError: string = "";

export function parsePathTemplate(text: string): PathTemplate | null {
  const t = new PathTemplate(text);
  if (!text.startsWith("/")) {
    pathTemplateError = 'must start with "/"';
    return null;
  }
  if (text == "/") return t;
  const segs = text.substring(1).split("/");
  for (let k = 0; k < segs.length; k++) {
    const s = unchecked(segs[k]);
    if (s.length == 0) {
      pathTemplateError = 'has an empty segment (doubled or trailing "/")';
      return null;
    }
    if (s.startsWith("{")) {
      const rest = s.endsWith("...}");
      const name = s.substring(1, s.length - (rest ? 4 : 1));
      if (!s.endsWith("}") || !isIdentifier(name)) {
        pathTemplateError = 'segment "' + s + '" must be {name} or {name...} with name = letters, digits, "_"';
        return null;
      }
      if (rest && k != segs.length - 1) {
        pathTemplateError = '"{' + name + '...}" may only be the last segment';
        return null;
      }
      if (t.names.includes(name)) {
        pathTemplateError = 'names parameter "' + name + '" twice';
        return null;
      }
      t.kinds.push(rest ? Seg.Rest : Seg.Param);
      t.lits.push(new ArrayBuffer(0));
      t.names.push(name);
      t.paramSeg.push(k);
      continue;
    }
    for (let i = 0; i < s.length; i++) {
      if (!isPchar(s.charCodeAt(i))) {
        pathTemplateError = 'segment "' + s + '" has a character not allowed in a path (use {name} for parameters)';
        return null;
      }
    }
    t.kinds.push(Seg.Literal);
    t.lits.push(String.UTF8.encode(s));
  }
  t.ranges = new StaticArray<i32>(t.kinds.length * 2);
  return t;
}
