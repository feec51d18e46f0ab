// Builds one CloudEvent 1.0 (structured JSON) for a matched rule from what the exchange showed.
// Writes into a reused scratch buffer: after warm-up an event costs one copy into the queue.
import { ByteBuf } from "./bytes";
import { DataFrom, EmitterConfig, Rule } from "./config";
import { BodyState, Exchange, foundLen, foundPtr } from "./exchange";
import { idFromKey, IdSource } from "./ids";
import { copyRedacted, findPath, isJson, JsonPath, scalarText, skipWs, valueEnd, valueStart } from "./json";
import { member, quotedInto } from "./json-write";
import { Omit, RuleMetrics } from "./metrics";
import { Src, Template } from "./template";
import { rfc3339Into } from "./time";
import { topicProblem, topicValueOk } from "./topic";

const IDEMPOTENCY_KEY = String.UTF8.encode("idempotency-key");
const TRACEPARENT = String.UTF8.encode("traceparent");
const TRACESTATE = String.UTF8.encode("tracestate");
const CONTENT_TYPE = String.UTF8.encode("content-type");
const EVENT_START = String.UTF8.encode('{"specversion":"1.0","id":"');
const SOURCE = String.UTF8.encode('","source":');
const TYPE = member("type");
const TIME = member("time");
const TOPIC = member("topic");
const SUBJECT = member("subject");
const PARTITIONKEY = member("partitionkey");
const TRACEPARENT_ATTR = member("traceparent");
const TRACESTATE_ATTR = member("tracestate");
const DATACONTENTTYPE = member("datacontenttype");
const DATASCHEMA = member("dataschema");
const DATA = member("data");
const DATA_BASE64 = member("data_base64");
const JSON_TYPE = String.UTF8.encode('"application/json"');
const OCTET_TYPE = String.UTF8.encode('"application/octet-stream"');
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64Into(out: ByteBuf, p: usize, n: i32): void {
  out.ensure(((n + 2) / 3) * 4);
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (<u32>load<u8>(p + <usize>i) << 16) | (<u32>load<u8>(p + <usize>i + 1) << 8) | <u32>load<u8>(p + <usize>i + 2);
    out.byte(<u8>B64.charCodeAt(v >> 18));
    out.byte(<u8>B64.charCodeAt((v >> 12) & 63));
    out.byte(<u8>B64.charCodeAt((v >> 6) & 63));
    out.byte(<u8>B64.charCodeAt(v & 63));
  }
  if (i < n) {
    const two = i + 1 < n;
    const v = (<u32>load<u8>(p + <usize>i) << 16) | (two ? <u32>load<u8>(p + <usize>i + 1) << 8 : 0);
    out.byte(<u8>B64.charCodeAt(v >> 18));
    out.byte(<u8>B64.charCodeAt((v >> 12) & 63));
    out.byte(two ? <u8>B64.charCodeAt((v >> 6) & 63) : 0x3d);
    out.byte(0x3d);
  }
}

export class EventWriter {
  /** The event being built. */
  out: ByteBuf = new ByteBuf(1024);
  /** A rendered template value. */
  private val: ByteBuf = new ByteBuf(256);
  ids: IdSource = new IdSource();
  /** Set by build() when the topic failed because a body it reads was over max_body_bytes. */
  bodyOverLimit: bool = false;

  /** Appends the value of `part` to `val`; false when the exchange does not have it. */
  private resolve(src: Src, part: ArrayBuffer, index: i32, field: JsonPath | null, rule: Rule, ex: Exchange): bool {
    const v = this.val;
    switch (src) {
      case Src.Literal:
        v.bytes(part);
        return true;
      case Src.PathParam: {
        const t = rule.path;
        if (t === null || !t.match(ex.pathPtr, ex.pathLen)) return false;
        const s = t.paramStart(index);
        v.raw(ex.pathPtr + <usize>s, t.paramEnd(index) - s);
        return true;
      }
      case Src.RequestHeader:
        if (!ex.header(part)) return false;
        v.raw(foundPtr, foundLen);
        return true;
      case Src.RequestBody:
      case Src.ResponseBody: {
        const copy = src == Src.RequestBody ? ex.requestBody : ex.responseBody;
        if (copy.state == BodyState.TooLarge) this.bodyOverLimit = true;
        const body = copy.complete();
        if (body === null || field === null || !findPath(body.ptr, 0, body.len, field)) return false;
        return scalarText(body.ptr, valueStart, valueEnd, v);
      }
      case Src.RequestMethod:
        v.raw(ex.methodPtr, ex.methodLen);
        return true;
      case Src.RequestPath:
        v.raw(ex.pathPtr, ex.pathLen);
        return true;
      case Src.ResponseStatus:
        v.decimal(<u64>ex.status);
        return true;
      case Src.RouteName: {
        const r = ex.routeName;
        if (r === null) return false;
        v.bytes(r);
        return true;
      }
    }
    return false;
  }

  /** Renders `t` into `val`; with `topic`, spliced values may not contain "/". */
  private render(t: Template, rule: Rule, ex: Exchange, topic: bool): bool {
    this.val.reset();
    const parts = t.parts;
    for (let k = 0; k < parts.length; k++) {
      const part = unchecked(parts[k]);
      const mark = this.val.len;
      if (!this.resolve(part.src, part.bytes, part.index, part.field, rule, ex)) return false;
      if (topic && part.src != Src.Literal && !topicValueOk(this.val.ptr + <usize>mark, this.val.len - mark)) return false;
    }
    return true;
  }

  private optional(name: ArrayBuffer, t: Template | null, rule: Rule, ex: Exchange): void {
    if (t === null || !this.render(t, rule, ex, false) || this.val.len == 0) return;
    this.out.bytes(name);
    quotedInto(this.out, this.val.ptr, this.val.len);
  }

  private headerAttr(name: ArrayBuffer, header: ArrayBuffer, ex: Exchange): void {
    if (!ex.header(header) || foundLen == 0) return;
    this.out.bytes(name);
    quotedInto(this.out, foundPtr, foundLen);
  }

  /** Writes "datacontenttype" and "data"/"data_base64" per the rule; counts why data is left out. */
  private data(rule: Rule, ex: Exchange, m: RuleMetrics): void {
    if (rule.dataFrom == DataFrom.None) return;
    const copy = rule.dataFrom == DataFrom.RequestBody ? ex.requestBody : ex.responseBody;
    if (copy.state == BodyState.TooLarge) {
      m.omit(Omit.TooLarge);
      return;
    }
    const body = copy.complete();
    if (body === null) {
      m.omit(Omit.Incomplete);
      return;
    }
    if (body.len == 0) return;
    const p = body.ptr;
    const out = this.out;
    const field = rule.dataField;
    if (field !== null || rule.redact.length > 0) {
      // No separate validation pass: findPath validates the value it returns, copyRedacted every
      // value it walks; only a bare top-level scalar needs checking.
      let s = 0;
      let e = body.len;
      if (field !== null) {
        if (!findPath(p, 0, body.len, field)) {
          m.omit(isJson(p, 0, body.len) ? Omit.NoField : Omit.NotJson);
          return;
        }
        s = valueStart;
        e = valueEnd;
      } else {
        s = skipWs(p, 0, e);
        const c = s < e ? load<u8>(p + <usize>s) : 0;
        if (c != 0x7b && c != 0x5b && !isJson(p, 0, e)) {
          m.omit(Omit.NotJson);
          return;
        }
      }
      const mark = out.len;
      out.bytes(DATACONTENTTYPE);
      out.bytes(JSON_TYPE);
      out.bytes(DATA);
      const all = rule.redact.length >= 32 ? <u32>0xffffffff : ((<u32>1) << <u32>rule.redact.length) - 1;
      if (!copyRedacted(p, s, e, rule.redact, all, 0, out)) {
        out.truncate(mark);
        m.omit(Omit.NotJson);
      }
      return;
    }
    const json = isJson(p, 0, body.len);
    out.bytes(DATACONTENTTYPE);
    if (json) {
      out.bytes(JSON_TYPE);
      out.bytes(DATA);
      out.raw(p, body.len);
      return;
    }
    // Not JSON: keep the bytes exactly (base64) under the body's own content type.
    const type = ex.responseType;
    if (rule.dataFrom == DataFrom.ResponseBody && type !== null) quotedInto(out, changetype<usize>(type), type.byteLength);
    else if (rule.dataFrom == DataFrom.RequestBody && ex.header(CONTENT_TYPE)) quotedInto(out, foundPtr, foundLen);
    else out.bytes(OCTET_TYPE);
    out.bytes(DATA_BASE64);
    out.byte(0x22);
    base64Into(out, p, body.len);
    out.byte(0x22);
  }

  /** Builds the event of `rule` into `out`; false (nothing written) when the topic is invalid. */
  build(cfg: EmitterConfig, rule: Rule, ex: Exchange, m: RuleMetrics, nowNs: u64): bool {
    const literalTopic = rule.topicJson;
    this.bodyOverLimit = false;
    if (literalTopic === null && (!this.render(rule.topic, rule, ex, true) || topicProblem(this.val.ptr, this.val.len) !== null)) return false;
    this.bodyOverLimit = false; // only the topic drops the event; other templates are just left out
    const out = this.out;
    out.reset();
    out.bytes(EVENT_START);
    if (ex.header(IDEMPOTENCY_KEY) && foundLen > 0) idFromKey(out, cfg.source, rule.nameBytes, foundPtr, foundLen);
    else this.ids.unique(out);
    out.bytes(SOURCE);
    out.bytes(cfg.sourceJson);
    out.bytes(TYPE);
    out.bytes(rule.typeJson);
    const dataschema = rule.dataschemaJson;
    if (dataschema !== null) {
      out.bytes(DATASCHEMA);
      out.bytes(dataschema);
    }
    out.bytes(TIME);
    out.byte(0x22);
    rfc3339Into(out, nowNs);
    out.byte(0x22);
    out.bytes(TOPIC);
    if (literalTopic !== null) out.bytes(literalTopic);
    else quotedInto(out, this.val.ptr, this.val.len);
    this.optional(SUBJECT, rule.subject, rule, ex);
    this.optional(PARTITIONKEY, rule.partitionkey, rule, ex);
    this.headerAttr(TRACEPARENT_ATTR, TRACEPARENT, ex);
    this.headerAttr(TRACESTATE_ATTR, TRACESTATE, ex);
    this.data(rule, ex, m);
    out.byte(0x7d);
    return true;
  }
}
