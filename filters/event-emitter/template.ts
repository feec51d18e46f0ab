// Templates for topic, subject and partitionkey: literal text with {source} placeholders.
// Parsed once at configure time into parts; the stream context resolves each part's value.
import { JsonPath } from "./json";
import { PathTemplate } from "./path-template";

export enum Src {
  Literal,
  PathParam,
  RequestHeader,
  RequestBody,
  ResponseBody,
  RequestMethod,
  RequestPath,
  ResponseStatus,
  RouteName,
}

export const SOURCES_HELP =
  "use {path.<param>}, {request.header.<name>}, {request.body.<a.b>}, {response.body.<a.b>}, " +
  "{request.method}, {request.path}, {response.status} or {route.name}";

export class Part {
  constructor(
    public src: Src,
    /** Literal bytes, or the lowercase header name for RequestHeader. */
    public bytes: ArrayBuffer,
    /** Parameter index in the rule's path template (PathParam). */
    public index: i32 = -1,
    /** Field inside the body (RequestBody / ResponseBody). */
    public field: JsonPath | null = null,
  ) {}
}

export class Template {
  parts: Array<Part> = [];
  /** Bit (1 << Src) for every source used. */
  uses: u32 = 0;
  constructor(public text: string) {}
}

/** Set when parseTemplate / parseDottedPath return null. */
export let templateError: string = "";

/** Segment characters allowed in dotted JSON paths. */
function isPathChar(c: i32): bool {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95 || c == 45 || c == 36 || c == 64 || c == 58;
}

/** "a.b.c" → JsonPath; segments of letters, digits and _ - $ @ : (digits index arrays). */
export function parseDottedPath(text: string): JsonPath | null {
  const segs = text.split(".");
  const out = new Array<ArrayBuffer>(0);
  for (let k = 0; k < segs.length; k++) {
    const s = unchecked(segs[k]);
    if (s.length == 0) {
      templateError = 'field path "' + text + '" has an empty segment';
      return null;
    }
    for (let i = 0; i < s.length; i++) {
      if (!isPathChar(s.charCodeAt(i))) {
        templateError = 'field path "' + text + '" may only use letters, digits and _ - $ @ : between dots';
        return null;
      }
    }
    out.push(String.UTF8.encode(s));
  }
  return new JsonPath(out, text);
}

function isHeaderName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 95)) return false;
  }
  return true;
}

function parsePlaceholder(name: string, path: PathTemplate | null): Part | null {
  if (name == "request.method") return new Part(Src.RequestMethod, new ArrayBuffer(0));
  if (name == "request.path") return new Part(Src.RequestPath, new ArrayBuffer(0));
  if (name == "response.status") return new Part(Src.ResponseStatus, new ArrayBuffer(0));
  if (name == "route.name") return new Part(Src.RouteName, new ArrayBuffer(0));
  if (name.startsWith("path.")) {
    const param = name.substring(5);
    const index = path === null ? -1 : path.paramIndex(param);
    if (index < 0) {
      templateError =
        "{" + name + "} names no parameter of match.path" + (path === null ? " (the rule has no match.path)" : ' "' + path.text + '"');
      return null;
    }
    return new Part(Src.PathParam, new ArrayBuffer(0), index);
  }
  if (name.startsWith("request.header.")) {
    const h = name.substring(15);
    if (!isHeaderName(h)) {
      templateError = "{" + name + "}: header names are lowercase letters, digits, - and _ (Envoy lowercases them)";
      return null;
    }
    return new Part(Src.RequestHeader, String.UTF8.encode(h));
  }
  const req = name.startsWith("request.body.");
  if (req || name.startsWith("response.body.")) {
    const field = parseDottedPath(name.substring(req ? 13 : 14));
    if (field === null) {
      templateError = "{" + name + "}: " + templateError;
      return null;
    }
    return new Part(req ? Src.RequestBody : Src.ResponseBody, new ArrayBuffer(0), -1, field);
  }
  templateError = 'unknown template source "{' + name + '}"; ' + SOURCES_HELP;
  return null;
}

/** Parses `text`; `path` is the rule's path template (for {path.x}). Null ⇒ templateError. */
export function parseTemplate(text: string, path: PathTemplate | null): Template | null {
  const t = new Template(text);
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("{", i);
    const closeBefore = text.indexOf("}", i);
    if (closeBefore >= 0 && (open < 0 || closeBefore < open)) {
      templateError = '"}" without a matching "{"';
      return null;
    }
    const litEnd = open < 0 ? text.length : open;
    if (litEnd > i) t.parts.push(new Part(Src.Literal, String.UTF8.encode(text.substring(i, litEnd))));
    if (open < 0) break;
    const close = text.indexOf("}", open);
    if (close < 0) {
      templateError = 'unclosed "{"';
      return null;
    }
    const name = text.substring(open + 1, close);
    if (name.includes("{")) {
      templateError = 'nested "{" inside a placeholder';
      return null;
    }
    const part = parsePlaceholder(name, path);
    if (part === null) return null;
    t.parts.push(part);
    t.uses |= (<u32>1) << <u32>part.src;
    i = close + 1;
  }
  return t;
}

/** The template with every placeholder replaced by "x" (to check the literal parts of a topic). */
export function sampleOf(t: Template): string {
  let s = "";
  for (let k = 0; k < t.parts.length; k++) {
    const p = unchecked(t.parts[k]);
    s += p.src == Src.Literal ? String.UTF8.decode(p.bytes) : "x";
  }
  return s;
}
