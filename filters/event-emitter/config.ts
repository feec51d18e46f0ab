// The emitter configuration (docs/interfaces.md §1; JSON Schema common/emitter-config.schema.json):
// parsed and fully validated at configure time, so a bad config is refused there (Envoy NACKs it)
// and the request path never meets an invalid value. Every error names the field.
import { ByteBuf } from "./bytes";
import { JsonPath } from "./json";
import { quotedInto } from "./json-write";
import { JKind, JNode, JsonTree, kindName } from "./json-tree";
import { parsePathTemplate, pathTemplateError, PathTemplate } from "./path-template";
import { parseDottedPath, parseTemplate, sampleOf, Src, Template, templateError } from "./template";
import { topicProblem } from "./topic";
import { isJsWhitespace } from "./utf8";

export const enum DataFrom {
  None = 0,
  RequestBody = 1,
  ResponseBody = 2,
}

export const MAX_RULES: i32 = 64;
export const MAX_REDACT: i32 = 32;
export const MAX_BODY_LIMIT: i32 = 1048576; // Envoy's default per-connection buffer limit

export class HeaderCond {
  constructor(public name: ArrayBuffer, public exact: ArrayBuffer | null, public present: bool) {}
}

export class Rule {
  index: i32 = 0;
  name: string = "";
  nameBytes: ArrayBuffer = new ArrayBuffer(0);
  routeName: ArrayBuffer | null = null;
  /** Allowed methods; empty = any. */
  methods: Array<ArrayBuffer> = [];
  path: PathTemplate | null = null;
  host: ArrayBuffer | null = null;
  headers: Array<HeaderCond> = [];
  /** Bit per status code 0..599; null = any status. */
  status: StaticArray<u32> | null = null;
  /** The CloudEvent type as a JSON string (quoted, escaped). */
  typeJson: ArrayBuffer = new ArrayBuffer(0);
  /** The `dataschema` attribute as a JSON string (the route's data contract id), if any. */
  dataschemaJson: ArrayBuffer | null = null;
  topic: Template = new Template("");
  /** The topic as a JSON string when the template has no placeholders (checked once, here). */
  topicJson: ArrayBuffer | null = null;
  subject: Template | null = null;
  partitionkey: Template | null = null;
  dataFrom: DataFrom = DataFrom.None;
  dataField: JsonPath | null = null;
  redact: Array<JsonPath> = [];
  maxBodyBytes: i32 = 65536;
  sampling: f64 = 1.0;
  guaranteed: bool = false;
  deadlineMs: u32 = 500;
  rejectOnFailure: bool = false;

  needsRequestBody(): bool {
    return this.dataFrom == DataFrom.RequestBody || this.usesAnywhere(Src.RequestBody);
  }
  needsResponseBody(): bool {
    return this.dataFrom == DataFrom.ResponseBody || this.usesAnywhere(Src.ResponseBody);
  }
  needsRouteName(): bool {
    return this.routeName !== null || this.usesAnywhere(Src.RouteName);
  }
  private usesAnywhere(src: Src): bool {
    const bit = (<u32>1) << <u32>src;
    let uses = this.topic.uses;
    const s = this.subject;
    if (s !== null) uses |= s.uses;
    const k = this.partitionkey;
    if (k !== null) uses |= k.uses;
    return (uses & bit) != 0;
  }
  statusMatches(code: i32): bool {
    const set = this.status;
    if (set === null) return true;
    if (code < 0 || code >= 600) return false;
    return ((unchecked(set[code >> 5]) >> (<u32>code & 31)) & 1) != 0;
  }
}

/** `s` as a JSON string literal, ready to append. */
function jsonString(s: string): ArrayBuffer {
  const raw = String.UTF8.encode(s);
  const out = new ByteBuf(raw.byteLength + 8);
  quotedInto(out, changetype<usize>(raw), raw.byteLength);
  return out.toBytes();
}

export class EmitterConfig {
  source: ArrayBuffer = new ArrayBuffer(0);
  /** The CloudEvent source as a JSON string (quoted, escaped). */
  sourceJson: ArrayBuffer = new ArrayBuffer(0);
  cluster: string = "";
  authority: string = "";
  bridgePath: string = "/v1/events";
  timeoutMs: u32 = 2000;
  token: string = "";
  maxEvents: i32 = 64;
  maxBytes: i32 = 262144;
  flushIntervalMs: u32 = 100;
  maxBufferedEvents: i32 = 10000;
  maxAttempts: i32 = 5;
  baseDelayMs: u32 = 100;
  maxDelayMs: u32 = 5000;
  rules: Array<Rule> = [];
  // Prefilter (see filter.ts): what a request must show before any rule is looked at.
  /** Union of rule methods, empty when some rule accepts any method. */
  methods: Array<ArrayBuffer> = [];
  /** First literal path segments of all rules, empty when some rule cannot be prefiltered by path. */
  firstSegments: Array<ArrayBuffer> = [];
  /** Some rule matches on or renders the route name (read once per candidate request). */
  needRouteName: bool = false;
  /** Read each route's `sidecast.io/event` annotation (xds.route_metadata; see annotations.ts). */
  routeAnnotations: bool = true;
}

/** Collects the first error with the field it is about. */
class Checker {
  error: string = "";

  fail(where: string, msg: string): void {
    if (this.error.length == 0) this.error = where + ": " + msg;
  }
  get ok(): bool {
    return this.error.length == 0;
  }

  /** `node` must be an object with only `allowed` keys. */
  object(node: JNode | null, where: string, allowed: Array<string>): bool {
    if (node === null) return false;
    if (node.kind != JKind.Object) {
      this.fail(where, "must be an object, not " + kindName(node.kind));
      return false;
    }
    for (let i = 0; i < node.keys.length; i++) {
      const k = unchecked(node.keys[i]);
      if (!allowed.includes(k)) {
        this.fail(where, 'unknown field "' + k + '" (allowed: ' + allowed.join(", ") + ")");
        return false;
      }
    }
    return true;
  }

  /** Optional string member; null when absent (or invalid, with the error recorded). */
  str(node: JNode, key: string, where: string, required: bool = false): string | null {
    const v = node.get(key);
    if (v === null) {
      if (required) this.fail(where, 'missing required field "' + key + '"');
      return null;
    }
    if (v.kind != JKind.String) {
      this.fail(where + "." + key, "must be a string, not " + kindName(v.kind));
      return null;
    }
    if (v.str.length == 0) {
      this.fail(where + "." + key, "must not be empty");
      return null;
    }
    return v.str;
  }

  /** Optional integer member in [min, max]; `def` when absent. */
  int(node: JNode, key: string, where: string, def: i64, min: i64, max: i64): i64 {
    const v = node.get(key);
    if (v === null) return def;
    if (v.kind != JKind.Number || v.num != Math.floor(v.num) || !isFinite(v.num)) {
      this.fail(where + "." + key, "must be an integer");
      return def;
    }
    if (v.num < <f64>min || v.num > <f64>max) {
      this.fail(where + "." + key, "must be between " + min.toString() + " and " + max.toString() + " (got " + (<i64>v.num).toString() + ")");
      return def;
    }
    return <i64>v.num;
  }

  oneOf(node: JNode, key: string, where: string, choices: Array<string>, def: string): string {
    const s = this.str(node, key, where);
    if (s === null) return def;
    if (!choices.includes(s)) {
      this.fail(where + "." + key, 'must be one of "' + choices.join('", "') + '" (got "' + s + '")');
      return def;
    }
    return s;
  }
}

function noSpaceOrControl(s: string, allowControl: bool): bool {
  for (let i = 0; i < s.length; i++) {
    const c = <u32>s.charCodeAt(i);
    if (isJsWhitespace(c)) return false;
    if (!allowControl && (c < 0x20 || c == 0x7f)) return false;
  }
  return true;
}

function codePoints(s: string): i32 {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

function isRuleName(s: string): bool {
  if (s.length > 63) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (i > 0 && (c == 45 || c == 95));
    if (!ok) return false;
  }
  return true;
}

function isMethod(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 65 || c > 90) return false;
  }
  return true;
}

function checkBridge(c: Checker, node: JNode | null, cfg: EmitterConfig): void {
  if (node === null) {
    c.fail("bridge", 'missing; give at least { "cluster": "sidecast_bridge" }');
    return;
  }
  if (!c.object(node, "bridge", ["cluster", "authority", "path", "timeout_ms", "token"])) return;
  const cluster = c.str(node, "cluster", "bridge", true);
  if (cluster !== null) cfg.cluster = cluster;
  const authority = c.str(node, "authority", "bridge");
  cfg.authority = authority !== null ? authority : cfg.cluster;
  const path = c.str(node, "path", "bridge");
  if (path !== null) {
    if (!path.startsWith("/") || !noSpaceOrControl(path, false)) c.fail("bridge.path", 'must start with "/" and contain no spaces or control characters');
    cfg.bridgePath = path;
  }
  cfg.timeoutMs = <u32>c.int(node, "timeout_ms", "bridge", 2000, 1, 300000);
  const token = c.str(node, "token", "bridge");
  if (token !== null) {
    for (let i = 0; i < token.length; i++) {
      const ch = token.charCodeAt(i);
      if (ch < 0x20 || ch == 0x7f) c.fail("bridge.token", "must not contain control characters");
    }
    cfg.token = token;
  }
}

function checkBatch(c: Checker, root: JNode, cfg: EmitterConfig): void {
  const b = root.get("batch");
  if (b !== null && c.object(b, "batch", ["max_events", "max_bytes", "flush_interval_ms", "max_buffered_events"])) {
    cfg.maxEvents = <i32>c.int(b, "max_events", "batch", 64, 1, 1000);
    cfg.maxBytes = <i32>c.int(b, "max_bytes", "batch", 262144, 1024, 4194304);
    cfg.flushIntervalMs = <u32>c.int(b, "flush_interval_ms", "batch", 100, 1, 60000);
    cfg.maxBufferedEvents = <i32>c.int(b, "max_buffered_events", "batch", 10000, 1, 100000);
  }
  const r = root.get("retry");
  if (r !== null && c.object(r, "retry", ["max_attempts", "base_delay_ms", "max_delay_ms"])) {
    cfg.maxAttempts = <i32>c.int(r, "max_attempts", "retry", 5, 1, 100);
    cfg.baseDelayMs = <u32>c.int(r, "base_delay_ms", "retry", 100, 1, 60000);
    cfg.maxDelayMs = <u32>c.int(r, "max_delay_ms", "retry", 5000, 1, 600000);
  }
}

function checkStatus(c: Checker, node: JNode, where: string, rule: Rule): void {
  if (node.kind != JKind.Array || node.items.length == 0) {
    c.fail(where, 'must be a non-empty array of codes (201) or classes ("2xx")');
    return;
  }
  const bits = new StaticArray<u32>(19);
  for (let i = 0; i < node.items.length; i++) {
    const v = unchecked(node.items[i]);
    const at = where + "[" + i.toString() + "]";
    if (v.kind == JKind.Number) {
      if (v.num != Math.floor(v.num) || v.num < 100 || v.num > 599) {
        c.fail(at, "status codes are integers from 100 to 599");
        return;
      }
      const code = <i32>v.num;
      bits[code >> 5] |= (<u32>1) << (<u32>code & 31);
    } else if (v.kind == JKind.String && v.str.length == 3 && v.str.endsWith("xx") && v.str.charCodeAt(0) >= 49 && v.str.charCodeAt(0) <= 53) {
      const base = (v.str.charCodeAt(0) - 48) * 100;
      for (let code = base; code < base + 100; code++) bits[code >> 5] |= (<u32>1) << (<u32>code & 31);
    } else {
      c.fail(at, 'must be a status code (201) or a class "1xx".."5xx"');
      return;
    }
  }
  rule.status = bits;
}

function checkMatch(c: Checker, node: JNode | null, where: string, rule: Rule): void {
  if (node === null) {
    c.fail(where, 'missing required field "match"');
    return;
  }
  where += ".match";
  if (!c.object(node, where, ["route_name", "method", "path", "host", "headers", "status"])) return;
  const route = c.str(node, "route_name", where);
  if (route !== null) rule.routeName = String.UTF8.encode(route);
  const path = c.str(node, "path", where);
  if (path !== null) {
    const t = parsePathTemplate(path);
    if (t === null) c.fail(where + ".path", '"' + path + '" ' + pathTemplateError);
    rule.path = t;
  }
  if (route === null && path === null && c.ok) c.fail(where, 'needs "route_name" or "path" (or both)');
  const m = node.get("method");
  if (m !== null) {
    const list = m.kind == JKind.Array ? m.items : [m];
    if (list.length == 0) c.fail(where + ".method", "must not be an empty list");
    for (let i = 0; i < list.length; i++) {
      const v = unchecked(list[i]);
      if (v.kind != JKind.String || v.str.length == 0 || !isMethod(v.str)) {
        c.fail(where + ".method", 'must be an uppercase HTTP method ("POST") or a list of them');
        return;
      }
      rule.methods.push(String.UTF8.encode(v.str));
    }
  }
  const host = c.str(node, "host", where);
  if (host !== null) {
    if (!noSpaceOrControl(host, true)) c.fail(where + ".host", "must not contain whitespace");
    rule.host = String.UTF8.encode(host.toLowerCase());
  }
  const hs = node.get("headers");
  if (hs !== null) {
    if (hs.kind != JKind.Array) {
      c.fail(where + ".headers", 'must be an array of { "name", "exact" } or { "name", "present" }');
      return;
    }
    for (let i = 0; i < hs.items.length; i++) {
      const at = where + ".headers[" + i.toString() + "]";
      const h = unchecked(hs.items[i]);
      if (!c.object(h, at, ["name", "exact", "present"])) return;
      const name = c.str(h, "name", at, true);
      if (name === null) return;
      for (let k = 0; k < name.length; k++) {
        const ch = name.charCodeAt(k);
        if (!((ch >= 97 && ch <= 122) || (ch >= 48 && ch <= 57) || ch == 45 || ch == 95)) {
          c.fail(at + ".name", "header names are lowercase letters, digits, - and _ (Envoy lowercases them)");
          return;
        }
      }
      const exact = h.get("exact");
      const present = h.get("present");
      if ((exact === null) == (present === null)) {
        c.fail(at, 'give exactly one of "exact" (a string) or "present" (true/false)');
        return;
      }
      if (exact !== null) {
        if (exact.kind != JKind.String) {
          c.fail(at + ".exact", "must be a string");
          return;
        }
        rule.headers.push(new HeaderCond(String.UTF8.encode(name), String.UTF8.encode(exact.str), true));
      } else if (present !== null) {
        if (present.kind != JKind.Bool) {
          c.fail(at + ".present", "must be true or false");
          return;
        }
        rule.headers.push(new HeaderCond(String.UTF8.encode(name), null, present.bool));
      }
    }
  }
  const st = node.get("status");
  if (st !== null) checkStatus(c, st, where + ".status", rule);
}

function template(c: Checker, node: JNode, key: string, where: string, rule: Rule, required: bool): Template | null {
  const text = c.str(node, key, where, required);
  if (text === null) return null;
  const t = parseTemplate(text, rule.path);
  if (t === null) c.fail(where + "." + key, templateError);
  return t;
}

function checkData(c: Checker, node: JNode | null, where: string, rule: Rule): void {
  if (node === null) return;
  where += ".data";
  if (!c.object(node, where, ["from", "field", "redact"])) return;
  const from = c.oneOf(node, "from", where, ["request_body", "response_body", "none"], "");
  if (from.length == 0) {
    c.fail(where, 'missing required field "from" (request_body, response_body or none)');
    return;
  }
  rule.dataFrom = from == "request_body" ? DataFrom.RequestBody : from == "response_body" ? DataFrom.ResponseBody : DataFrom.None;
  const fieldNode = node.get("field");
  // The mesh schema allows "field": null for "the whole body".
  const field: string | null = fieldNode !== null && fieldNode.kind == JKind.Null ? null : c.str(node, "field", where);
  const redact = node.get("redact");
  if (rule.dataFrom == DataFrom.None && (field !== null || redact !== null)) {
    c.fail(where, '"field" and "redact" need "from": "request_body" or "response_body"');
    return;
  }
  if (field !== null) {
    rule.dataField = parseDottedPath(field);
    if (rule.dataField === null) c.fail(where + ".field", templateError);
  }
  if (redact !== null) {
    if (redact.kind != JKind.Array || redact.items.length > MAX_REDACT) {
      c.fail(where + ".redact", "must be an array of at most " + MAX_REDACT.toString() + " field paths");
      return;
    }
    for (let i = 0; i < redact.items.length; i++) {
      const v = unchecked(redact.items[i]);
      const at = where + ".redact[" + i.toString() + "]";
      if (v.kind != JKind.String) {
        c.fail(at, "must be a string field path like \"card.number\"");
        return;
      }
      const p = parseDottedPath(v.str);
      if (p === null) {
        c.fail(at, templateError);
        return;
      }
      rule.redact.push(p);
    }
  }
}

/**
 * The names an event rule's fields go by: the plugin configuration's snake_case, or the mesh
 * EventRoute's camelCase that route annotations use (where the deadline is a duration string).
 */
class EventKeys {
  constructor(
    public partitionkey: string,
    public maxBodyBytes: string,
    public deadline: string,
    public onFailure: string,
    /** Further fields the object may have (handled by the caller). */
    public extra: Array<string>,
  ) {}
  get annotation(): bool {
    return this.deadline == "deadline";
  }
}
const CONFIG_KEYS = new EventKeys("partitionkey", "max_body_bytes", "deadline_ms", "on_failure", []);
const ANNOTATION_KEYS = new EventKeys("partitionKey", "maxBodyBytes", "deadline", "onFailure", ["name", "path", "status"]);

/** A mesh duration ("500ms", "2s", "1.5m", "1h") in milliseconds; -1 when it is not one. */
function durationMs(s: string): f64 {
  let unit = 1.0;
  let digits = s;
  if (s.endsWith("ms")) digits = s.slice(0, s.length - 2);
  else if (s.endsWith("s")) (unit = 1000), (digits = s.slice(0, s.length - 1));
  else if (s.endsWith("m")) (unit = 60000), (digits = s.slice(0, s.length - 1));
  else if (s.endsWith("h")) (unit = 3600000), (digits = s.slice(0, s.length - 1));
  else return -1;
  let dots = 0;
  for (let i = 0; i < digits.length; i++) {
    const ch = digits.charCodeAt(i);
    if (ch == 46) dots++;
    else if (ch < 48 || ch > 57) return -1;
  }
  if (digits.length == 0 || dots > 1 || digits.startsWith(".") || digits.endsWith(".")) return -1;
  return parseFloat(digits) * unit;
}

function checkEvent(c: Checker, node: JNode | null, where: string, rule: Rule, keys: EventKeys = CONFIG_KEYS): void {
  if (node === null) {
    c.fail(where, 'missing required field "event"');
    return;
  }
  if (!keys.annotation) where += ".event";
  const fields = ["type", "topic", "subject", keys.partitionkey, "data", keys.maxBodyBytes, "sampling", "delivery", keys.deadline, keys.onFailure, "dataschema"].concat(keys.extra);
  if (!c.object(node, where, fields)) return;
  const type = c.str(node, "type", where, true);
  if (type !== null) rule.typeJson = jsonString(type);
  const dataschema = c.str(node, "dataschema", where);
  if (dataschema !== null) rule.dataschemaJson = jsonString(dataschema);
  const topic = template(c, node, "topic", where, rule, true);
  if (topic !== null) {
    rule.topic = topic;
    const sample = sampleOf(topic);
    const problem = topicProblem(changetype<usize>(String.UTF8.encode(sample)), String.UTF8.byteLength(sample), false);
    if (codePoints(topic.text) > 1024) c.fail(where + ".topic", "is longer than 1024 characters");
    else if (problem !== null) c.fail(where + ".topic", '"' + topic.text + '" is not a valid topic: ' + problem);
    else if (topic.uses == 0 && String.UTF8.byteLength(topic.text) <= 1024) rule.topicJson = jsonString(topic.text);
  }
  rule.subject = template(c, node, "subject", where, rule, false);
  rule.partitionkey = template(c, node, keys.partitionkey, where, rule, false);
  checkData(c, node.get("data"), where, rule);
  rule.maxBodyBytes = <i32>c.int(node, keys.maxBodyBytes, where, 65536, 0, MAX_BODY_LIMIT);
  const s = node.get("sampling");
  if (s !== null) {
    if (s.kind != JKind.Number || !(s.num >= 0 && s.num <= 1)) c.fail(where + ".sampling", "must be a number from 0 to 1");
    else rule.sampling = s.num;
  }
  rule.guaranteed = c.oneOf(node, "delivery", where, ["async", "guaranteed"], "async") == "guaranteed";
  if (!rule.guaranteed && (node.get(keys.deadline) !== null || node.get(keys.onFailure) !== null)) {
    c.fail(where, '"' + keys.deadline + '" and "' + keys.onFailure + '" only apply to "delivery": "guaranteed"');
    return;
  }
  if (!keys.annotation) rule.deadlineMs = <u32>c.int(node, "deadline_ms", where, 500, 1, 60000);
  else {
    const d = c.str(node, "deadline", where);
    if (d !== null) {
      const ms = durationMs(d);
      if (ms < 1 || ms > 60000 || ms != Math.floor(ms)) c.fail(where + ".deadline", 'must be a duration from "1ms" to "60s" in whole milliseconds (got "' + d + '")');
      else rule.deadlineMs = <u32>ms;
    }
  }
  rule.rejectOnFailure = c.oneOf(node, keys.onFailure, where, ["release", "reject"], "release") == "reject";
}

function checkRule(c: Checker, node: JNode, index: i32, cfg: EmitterConfig): Rule {
  const rule = new Rule();
  rule.index = index;
  const where = "rules[" + index.toString() + "]";
  if (!c.object(node, where, ["name", "match", "event"])) return rule;
  const name = c.str(node, "name", where, true);
  if (name !== null) {
    if (!isRuleName(name)) c.fail(where + ".name", '"' + name + '" must be 1-63 lowercase letters, digits, - or _ (starting with a letter or digit); it tags metrics');
    for (let i = 0; i < cfg.rules.length; i++) {
      if (unchecked(cfg.rules[i]).name == name) c.fail(where + ".name", '"' + name + '" is already used by rules[' + i.toString() + "]; names must be unique");
    }
    rule.name = name;
    rule.nameBytes = String.UTF8.encode(name);
  }
  checkMatch(c, node.get("match"), where, rule);
  if (c.ok) checkEvent(c, node.get("event"), where, rule);
  return rule;
}

function addUnique(list: Array<ArrayBuffer>, b: ArrayBuffer): void {
  const s = String.UTF8.decode(b);
  for (let i = 0; i < list.length; i++) if (String.UTF8.decode(unchecked(list[i])) == s) return;
  list.push(b);
}

/** Precomputes what every candidate request must show (see EmitterConfig prefilter fields). */
function buildPrefilter(cfg: EmitterConfig): void {
  let anyMethod = false;
  let anyPath = false;
  for (let i = 0; i < cfg.rules.length; i++) {
    const r = unchecked(cfg.rules[i]);
    if (r.methods.length == 0) anyMethod = true;
    else for (let k = 0; k < r.methods.length; k++) addUnique(cfg.methods, unchecked(r.methods[k]));
    const p = r.path;
    const first: ArrayBuffer | null = p === null ? null : p.firstLiteral();
    if (first === null) anyPath = true;
    else addUnique(cfg.firstSegments, first);
    if (r.needsRouteName()) cfg.needRouteName = true;
  }
  if (anyMethod) cfg.methods = [];
  if (anyPath) cfg.firstSegments = [];
}

/** Set when parseConfig returns null: "<field>: <problem>". */
export let configError: string = "";

export function parseConfig(src: ArrayBuffer): EmitterConfig | null {
  const tree = new JsonTree();
  const root = tree.parse(src);
  if (root === null) {
    configError = tree.error;
    return null;
  }
  const c = new Checker();
  const cfg = new EmitterConfig();
  if (c.object(root, "configuration", ["source", "bridge", "batch", "retry", "rules", "route_annotations"])) {
    const source = c.str(root, "source", "configuration", true);
    if (source !== null) {
      cfg.source = String.UTF8.encode(source);
      cfg.sourceJson = jsonString(source);
    }
    if (c.ok) checkBridge(c, root.get("bridge"), cfg);
    if (c.ok) checkBatch(c, root, cfg);
    const annotations = root.get("route_annotations");
    if (c.ok && annotations !== null) {
      if (annotations.kind != JKind.Bool) c.fail("route_annotations", "must be true or false");
      else cfg.routeAnnotations = annotations.bool;
    }
    const rules = root.get("rules");
    if (c.ok) {
      // Without route annotations the rules are all there is: at least one is needed.
      const min = cfg.routeAnnotations ? 0 : 1;
      if (rules === null && min == 0) {
        // only route annotations
      } else if (rules === null || rules.kind != JKind.Array || rules.items.length < min || rules.items.length > MAX_RULES) {
        c.fail("rules", "must be an array of " + min.toString() + " to " + MAX_RULES.toString() + " rules" + (min == 1 ? ' (or turn "route_annotations" on)' : ""));
      } else {
        for (let i = 0; i < rules.items.length && c.ok; i++) cfg.rules.push(checkRule(c, unchecked(rules.items[i]), i, cfg));
      }
    }
  }
  if (!c.ok) {
    configError = c.error;
    return null;
  }
  buildPrefilter(cfg);
  return cfg;
}

/** Set when parseAnnotation returns null: "<field>: <problem>". */
export let annotationError: string = "";

/** A route name as a rule name (metrics tag): lowercase, other characters as "_", at most 63. */
function ruleNameOf(route: string): string {
  let out = "";
  for (let i = 0; i < route.length && out.length < 63; i++) {
    const c = route.charCodeAt(i);
    const l = c >= 65 && c <= 90 ? c + 32 : c;
    const ok = (l >= 97 && l <= 122) || (l >= 48 && l <= 57) || (out.length > 0 && (l == 45 || l == 95));
    out += ok ? String.fromCharCode(l) : out.length > 0 ? "_" : "r";
  }
  return out.length == 0 ? "route" : out;
}

/**
 * The rule a route's `sidecast.io/event` annotation describes: an EventRoute's `event` (same
 * fields, same validation) plus `status`, an optional `path` template (for {path.*} and as an extra
 * condition) and an optional `name` (metrics tag; default: the route name). The route is the match.
 */
export function parseAnnotation(node: JNode, routeName: string): Rule | null {
  const c = new Checker();
  const rule = new Rule();
  const where = 'filter_metadata["sidecast.io/event"]';
  const name = c.str(node, "name", where);
  if (name !== null && !isRuleName(name)) c.fail(where + ".name", '"' + name + '" must be 1-63 lowercase letters, digits, - or _ (starting with a letter or digit); it tags metrics');
  rule.name = name !== null ? name : ruleNameOf(routeName);
  rule.nameBytes = String.UTF8.encode(rule.name);
  const path = c.str(node, "path", where);
  if (path !== null) {
    const t = parsePathTemplate(path);
    if (t === null) c.fail(where + ".path", '"' + path + '" ' + pathTemplateError);
    rule.path = t;
  }
  const st = node.get("status");
  if (st !== null && c.ok) checkStatus(c, st, where + ".status", rule);
  if (c.ok) checkEvent(c, node, where, rule, ANNOTATION_KEYS);
  if (!c.ok) {
    annotationError = c.error;
    return null;
  }
  return rule;
}
