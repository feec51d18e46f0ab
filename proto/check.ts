// Strict protobuf checker over a protobufjs Root (loaded with keepCase, so field names are the
// .proto names). It reads proto3 JSON (what Envoy YAML is), refuses unknown or mistyped fields,
// expands google.protobuf.Any by its type URL (recursively) and enforces the subset of
// protoc-gen-validate rules that catches real mistakes (required fields and oneofs, min lengths,
// numeric bounds). Envoy does the same on its side; checking first turns a NACK into a clear error.
import protobuf from 'protobufjs';

export interface ProtoIssue {
  path: string;
  reason: string;
}

/** Every problem found in one document; `where` names the file/resource being checked. */
export class ProtoCheckError extends Error {
  constructor(
    readonly where: string,
    readonly issues: ProtoIssue[],
  ) {
    const shown = issues.slice(0, 20).map((i) => `  ${i.path || '(top level)'}: ${i.reason}`);
    if (issues.length > 20) shown.push(`  … and ${issues.length - 20} more`);
    super(`${where}: ${issues.length} protobuf error(s):\n${shown.join('\n')}`);
    this.name = 'ProtoCheckError';
  }
}

export const TYPE_URL_PREFIX = 'type.googleapis.com/';
export const typeUrlOf = (fullName: string): string => TYPE_URL_PREFIX + fullName.replace(/^\./, '');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (t) => `.google.protobuf.${t}Value`,
  ),
);
/** WKTs whose JSON form is not an object of fields; inside an Any they sit under "value". */
const SPECIAL_JSON = new Set([
  ...WRAPPERS,
  '.google.protobuf.Duration',
  '.google.protobuf.Timestamp',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
  '.google.protobuf.FieldMask',
]);
const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64']);
const UINT64 = new Set(['uint64', 'fixed64']);

export class ProtoChecker {
  constructor(readonly root: protobuf.Root) {}

  private readonly types = new Map<string, protobuf.Type>();

  type(name: string): protobuf.Type {
    let t = this.types.get(name);
    if (t) return t;
    const found = this.root.lookup(name.replace(/^type\.googleapis\.com\//, ''));
    if (!(found instanceof protobuf.Type))
      throw new Error(`proto type ${name} is not loaded (add its .proto to the loader)`);
    this.types.set(name, (t = found));
    return t;
  }

  /** Proto3 JSON → serialized bytes; throws ProtoCheckError listing every problem. */
  encode(typeName: string, json: unknown, where: string): Uint8Array {
    const type = this.type(typeName);
    const issues: ProtoIssue[] = [];
    const obj = new JsonReader(this, issues).message(type, json, '');
    if (issues.length) throw new ProtoCheckError(where, issues);
    return type.encode(type.fromObject(obj as Obj)).finish();
  }

  /** Checks proto3 JSON without keeping the bytes. */
  check(typeName: string, json: unknown, where: string): void {
    this.encode(typeName, json, where);
  }

  /** Bytes → proto3 JSON (Any expanded with "@type"); fails on unknown fields or unloaded Any types. */
  decode(typeName: string, bytes: Uint8Array, where: string): Obj {
    const issues: ProtoIssue[] = [];
    const out = new WireReader(this, issues).message(this.type(typeName), bytes, '');
    if (issues.length) throw new ProtoCheckError(where, issues);
    return out;
  }
}

/** proto3 JSON → protobufjs plain object (keepCase names), collecting issues. */
class JsonReader {
  constructor(
    private readonly checker: ProtoChecker,
    private readonly issues: ProtoIssue[],
  ) {}

  private fail(path: string, reason: string): undefined {
    this.issues.push({ path, reason });
    return undefined;
  }

  message(type: protobuf.Type, json: unknown, path: string): unknown {
    const special = this.wellKnown(type, json, path);
    if (special !== NOT_SPECIAL) return special;
    if (!isObj(json))
      return this.fail(path, `expected an object (${type.fullName.slice(1)}), got ${describe(json)}`);
    const byName = fieldsByJsonName(type);
    const out: Obj = {};
    for (const [key, value] of Object.entries(json)) {
      const at = path ? `${path}.${key}` : key;
      const field = byName.get(key);
      if (!field) {
        this.fail(at, `unknown field "${key}" in ${type.fullName.slice(1)}${suggest(key, type)}`);
        continue;
      }
      if (field.name in out) {
        this.fail(at, `field "${field.name}" given twice (as snake_case and camelCase)`);
        continue;
      }
      // proto3 JSON: null means "not set" (except for google.protobuf.Value); undefined is the JS equivalent.
      if (
        value === undefined ||
        (value === null && field.resolvedType?.fullName !== '.google.protobuf.Value')
      )
        continue;
      const v = this.field(field, value, at);
      if (v !== undefined) out[field.name] = v;
    }
    this.validate(type, out, path);
    return out;
  }

  private field(field: protobuf.Field, value: unknown, path: string): unknown {
    if (field.map) {
      if (!isObj(value)) return this.fail(path, `expected an object (map), got ${describe(value)}`);
      const out: Obj = {};
      for (const key of Object.keys(value).sort()) {
        const v = this.single(field, value[key], `${path}["${key}"]`);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.fail(path, `expected a list, got ${describe(value)}`);
      return value.map((v, i) => this.single(field, v, `${path}[${i}]`));
    }
    return this.single(field, value, path);
  }

  private single(field: protobuf.Field, value: unknown, path: string): unknown {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) return this.message(rt, value, path);
    if (rt instanceof protobuf.Enum) return this.enumValue(rt, value, path);
    return this.scalar(field.type, value, path);
  }

  private enumValue(e: protobuf.Enum, value: unknown, path: string): unknown {
    if (e.fullName === '.google.protobuf.NullValue' && value === null) return 0;
    const names = Object.keys(e.values);
    if (typeof value === 'string' && value in e.values) return e.values[value];
    if (typeof value === 'number' && Object.values(e.values).includes(value)) return value;
    return this.fail(
      path,
      `invalid ${e.fullName.slice(1)} value ${describe(value)}; one of ${names.join(', ')}`,
    );
  }

  private scalar(kind: string, value: unknown, path: string): unknown {
    const intText = typeof value === 'string' && /^-?\d+$/.test(value) ? value : undefined;
    if (INT32.has(kind) || UINT32.has(kind)) {
      const n = typeof value === 'number' ? value : intText !== undefined ? Number(intText) : NaN;
      const [lo, hi] = UINT32.has(kind) ? [0, 4294967295] : [-2147483648, 2147483647];
      if (!Number.isInteger(n) || n < lo || n > hi)
        return this.fail(path, `expected ${kind}, got ${describe(value)}`);
      return n;
    }
    if (INT64.has(kind) || UINT64.has(kind)) {
      const ok = typeof value === 'number' ? Number.isSafeInteger(value) : intText !== undefined;
      const negative = typeof value === 'number' ? value < 0 : intText?.startsWith('-');
      if (!ok || (UINT64.has(kind) && negative))
        return this.fail(path, `expected ${kind}, got ${describe(value)}`);
      return typeof value === 'number' ? value : intText;
    }
    switch (kind) {
      case 'double':
      case 'float':
        if (typeof value === 'number') return value;
        if (typeof value === 'string' && /^(NaN|-?Infinity|-?\d+(\.\d+)?([eE][-+]?\d+)?)$/.test(value))
          return Number(value);
        return this.fail(path, `expected a number (${kind}), got ${describe(value)}`);
      case 'bool':
        return typeof value === 'boolean'
          ? value
          : this.fail(path, `expected true or false, got ${describe(value)}`);
      case 'string':
        return typeof value === 'string'
          ? value
          : this.fail(path, `expected a string, got ${describe(value)}`);
      case 'bytes':
        if (typeof value === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(value))
          return Buffer.from(value, 'base64');
        return this.fail(path, `expected base64 bytes, got ${describe(value)}`);
      default:
        return this.fail(path, `unsupported field type ${kind}`);
    }
  }

  /** JSON forms of the well-known types; NOT_SPECIAL for ordinary messages. */
  private wellKnown(type: protobuf.Type, json: unknown, path: string): unknown {
    const name = type.fullName;
    if (WRAPPERS.has(name)) return { value: this.scalar(type.fields.value!.type, json, path) };
    switch (name) {
      case '.google.protobuf.Any':
        return this.any(json, path);
      case '.google.protobuf.Duration': {
        const m = typeof json === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
        if (!m) return this.fail(path, `expected a duration like "1.5s", got ${describe(json)}`);
        const sign = m[1] ? -1 : 1;
        return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
      }
      case '.google.protobuf.Timestamp': {
        const ms = typeof json === 'string' ? Date.parse(json) : NaN;
        if (Number.isNaN(ms)) return this.fail(path, `expected an RFC 3339 timestamp, got ${describe(json)}`);
        return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
      }
      case '.google.protobuf.Struct':
        if (!isObj(json)) return this.fail(path, `expected an object, got ${describe(json)}`);
        return structOf(json);
      case '.google.protobuf.Value':
        return valueOf(json);
      case '.google.protobuf.ListValue':
        if (!Array.isArray(json)) return this.fail(path, `expected a list, got ${describe(json)}`);
        return { values: json.map(valueOf) };
      case '.google.protobuf.FieldMask':
        if (typeof json !== 'string')
          return this.fail(path, `expected a field mask string, got ${describe(json)}`);
        return { paths: json.split(',').filter(Boolean) };
      default:
        return NOT_SPECIAL;
    }
  }

  private any(json: unknown, path: string): unknown {
    if (!isObj(json)) return this.fail(path, `expected an object with "@type", got ${describe(json)}`);
    const url = json['@type'];
    if (typeof url !== 'string' || !url.startsWith(TYPE_URL_PREFIX))
      return this.fail(path, `"@type" must be "${TYPE_URL_PREFIX}<full.proto.Name>", got ${describe(url)}`);
    let inner: protobuf.Type;
    try {
      inner = this.checker.type(url);
    } catch {
      return this.fail(
        path,
        `"@type" ${url} names a type that is not known (typo, or not an Envoy v3 API type)`,
      );
    }
    const rest: Obj = { ...json };
    delete rest['@type'];
    const at = `${path}(${url.slice(TYPE_URL_PREFIX.length)})`;
    let content: unknown;
    if (SPECIAL_JSON.has(inner.fullName)) {
      const extra = Object.keys(rest).filter((k) => k !== 'value');
      if (extra.length)
        return this.fail(
          at,
          `unknown field(s) ${extra.join(', ')}; ${inner.fullName.slice(1)} goes under "value"`,
        );
      content = this.message(inner, rest.value, `${at}.value`);
    } else {
      content = this.message(inner, rest, at);
    }
    if (content === undefined) return undefined;
    return { type_url: url, value: inner.encode(inner.fromObject(content as Obj)).finish() };
  }

  /** The protoc-gen-validate rules worth enforcing before Envoy does. */
  private validate(type: protobuf.Type, out: Obj, path: string): void {
    for (const oneof of type.oneofsArray) {
      const set = oneof.oneof.filter((n) => n in out);
      if (set.length > 1) this.fail(path, `set only one of ${set.join(', ')} (oneof ${oneof.name})`);
      if (set.length === 0 && oneof.options?.['(validate.required)'])
        this.fail(path, `one of ${oneof.oneof.join(', ')} is required`);
    }
    for (const f of type.fieldsArray) {
      const rules = f.options;
      if (!rules) continue;
      const at = path ? `${path}.${f.name}` : f.name;
      const present = f.name in out;
      const value = out[f.name];
      if (!present && f.partOf) continue; // PGV evaluates a oneof member's rules only when it is the one set
      if (
        !present &&
        (rules['(validate.rules).message.required'] ||
          rules['(validate.rules).any.required'] ||
          rules['(validate.rules).duration.required'])
      ) {
        this.fail(at, 'is required');
        continue;
      }
      if (!present && f.resolvedType instanceof protobuf.Type) continue; // unset optional message
      const minLen = rules['(validate.rules).string.min_len'] as number | undefined;
      if (minLen !== undefined && !f.repeated && String(value ?? '').length < minLen)
        this.fail(at, minLen === 1 ? 'must not be empty' : `needs at least ${minLen} characters`);
      const minItems = rules['(validate.rules).repeated.min_items'] as number | undefined;
      if (minItems !== undefined && ((value as unknown[] | undefined)?.length ?? 0) < minItems)
        this.fail(at, `needs at least ${minItems} item(s)`);
      const maxItems = rules['(validate.rules).repeated.max_items'] as number | undefined;
      if (maxItems !== undefined && ((value as unknown[] | undefined)?.length ?? 0) > maxItems)
        this.fail(at, `allows at most ${maxItems} item(s)`);
      this.bounds(rules, value, at);
    }
  }

  private bounds(rules: Obj, value: unknown, at: string): void {
    const n = Number(isObj(value) ? (value.value ?? 0) : (value ?? 0));
    for (const [key, bound] of Object.entries(rules)) {
      const m = /^\(validate\.rules\)\.(?:u?int(?:32|64)|double)\.(gte|gt|lte|lt)$/.exec(key);
      if (!m || typeof bound !== 'number') continue;
      const ok = { gte: n >= bound, gt: n > bound, lte: n <= bound, lt: n < bound }[m[1] as 'gte'];
      if (!ok)
        this.fail(
          at,
          `must be ${{ gte: '>=', gt: '>', lte: '<=', lt: '<' }[m[1] as 'gte']} ${bound}, got ${n}`,
        );
    }
  }
}

const NOT_SPECIAL = Symbol('not a well-known JSON type');

const fieldNames = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();
/** Field by proto name or lowerCamelCase JSON name (both are valid proto3 JSON), cached per type. */
function fieldsByJsonName(type: protobuf.Type): Map<string, protobuf.Field> {
  let byName = fieldNames.get(type);
  if (!byName) {
    byName = new Map();
    for (const f of type.fieldsArray) byName.set(f.name, f).set(camel(f.name), f);
    fieldNames.set(type, byName);
  }
  return byName;
}

// google.protobuf.Value comes from protobufjs's bundled definition, whose field names are camelCase
// whatever keepCase says.
function valueOf(v: unknown): Obj {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(valueOf) } };
  return { structValue: structOf(v as Obj) };
}

function structOf(o: Obj): Obj {
  const fields: Obj = {};
  for (const k of Object.keys(o).sort()) fields[k] = valueOf(o[k]);
  return { fields };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function suggest(key: string, type: protobuf.Type): string {
  const k = key.toLowerCase().replace(/_/g, '');
  const near = type.fieldsArray.find((f) => {
    const n = f.name.replace(/_/g, '');
    return n === k || (Math.abs(n.length - k.length) <= 2 && editDistance(n, k) <= 2);
  });
  return near ? ` (did you mean "${near.name}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** Bytes → proto3 JSON, walking the wire format so unknown field numbers are reported, not dropped. */
class WireReader {
  constructor(
    private readonly checker: ProtoChecker,
    private readonly issues: ProtoIssue[],
  ) {}

  message(type: protobuf.Type, bytes: Uint8Array, path: string): Obj {
    this.unknownFields(type, bytes, path);
    let msg: protobuf.Message;
    try {
      msg = type.decode(bytes);
    } catch (e) {
      this.issues.push({ path, reason: `not a valid ${type.fullName.slice(1)}: ${(e as Error).message}` });
      return {};
    }
    return this.toJson(type, msg as unknown as Obj, path) as Obj;
  }

  private unknownFields(type: protobuf.Type, bytes: Uint8Array, path: string): void {
    const r = protobuf.Reader.create(bytes);
    try {
      while (r.pos < r.len) {
        const tag = r.uint32();
        const id = tag >>> 3;
        const field = type.fieldsById[id];
        if (!field) {
          this.issues.push({ path, reason: `unknown field number ${id} in ${type.fullName.slice(1)}` });
          r.skipType(tag & 7);
          continue;
        }
        const nested =
          field.resolvedType instanceof protobuf.Type && !field.map ? field.resolvedType : undefined;
        if (
          nested &&
          (tag & 7) === 2 &&
          !SPECIAL_JSON.has(nested.fullName) &&
          nested.fullName !== '.google.protobuf.Any'
        )
          this.unknownFields(nested, r.bytes(), path ? `${path}.${field.name}` : field.name);
        else r.skipType(tag & 7);
      }
    } catch (e) {
      this.issues.push({
        path,
        reason: `truncated or corrupt ${type.fullName.slice(1)}: ${(e as Error).message}`,
      });
    }
  }

  private toJson(type: protobuf.Type, msg: Obj, path: string): unknown {
    const name = type.fullName;
    if (WRAPPERS.has(name)) return this.scalar(msg.value ?? type.fields.value!.defaultValue);
    switch (name) {
      case '.google.protobuf.Any':
        return this.any(msg, path);
      case '.google.protobuf.Duration': {
        const s = Number(msg.seconds ?? 0) + Number(msg.nanos ?? 0) / 1e9;
        return `${s}s`;
      }
      case '.google.protobuf.Timestamp':
        return new Date(Number(msg.seconds ?? 0) * 1000 + Number(msg.nanos ?? 0) / 1e6).toISOString();
      case '.google.protobuf.Struct':
        return protobuf.util.isObject(msg.fields) ? fromStruct(msg.fields as Obj) : {};
      case '.google.protobuf.Value':
        return fromValue(msg);
      case '.google.protobuf.ListValue':
        return ((msg.values as Obj[] | undefined) ?? []).map(fromValue);
    }
    const out: Obj = {};
    for (const f of type.fieldsArray) {
      if (!Object.prototype.hasOwnProperty.call(msg, f.name)) continue;
      const v = msg[f.name];
      const at = path ? `${path}.${f.name}` : f.name;
      if (f.map) {
        const m: Obj = {};
        for (const [k, x] of Object.entries(v as Obj)) m[k] = this.single(f, x, `${at}["${k}"]`);
        if (Object.keys(m).length) out[f.name] = m;
      } else if (f.repeated) {
        if ((v as unknown[]).length)
          out[f.name] = (v as unknown[]).map((x, i) => this.single(f, x, `${at}[${i}]`));
      } else out[f.name] = this.single(f, v, at);
    }
    return out;
  }

  private single(f: protobuf.Field, v: unknown, path: string): unknown {
    const rt = f.resolvedType;
    if (rt instanceof protobuf.Type) return this.toJson(rt, v as Obj, path);
    if (rt instanceof protobuf.Enum) return rt.valuesById[v as number] ?? v;
    if (f.type === 'bytes') return Buffer.from(v as Uint8Array).toString('base64');
    return this.scalar(v);
  }

  private scalar(v: unknown): unknown {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    return isObj(v) && 'low' in v ? String(v) : v; // Long → decimal string (proto3 JSON for 64-bit ints)
  }

  private any(msg: Obj, path: string): unknown {
    const url = String(msg.type_url ?? '');
    let inner: protobuf.Type;
    try {
      inner = this.checker.type(url);
    } catch {
      this.issues.push({ path, reason: `Any holds type ${JSON.stringify(url)}, which is not known` });
      return { '@type': url };
    }
    const at = `${path}(${url.slice(TYPE_URL_PREFIX.length)})`;
    const content = this.message(inner, (msg.value as Uint8Array | undefined) ?? new Uint8Array(), at);
    return SPECIAL_JSON.has(inner.fullName) ? { '@type': url, value: content } : { '@type': url, ...content };
  }
}

function fromStruct(fields: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(fields)) out[k] = fromValue(v as Obj);
  return out;
}

function fromValue(v: Obj): unknown {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(v, k); // decoded messages carry defaults on the prototype
  if (has('numberValue')) return v.numberValue;
  if (has('stringValue')) return v.stringValue;
  if (has('boolValue')) return v.boolValue;
  if (has('structValue')) return fromStruct(((v.structValue as Obj).fields as Obj) ?? {});
  if (has('listValue')) return (((v.listValue as Obj).values as Obj[]) ?? []).map(fromValue);
  return null;
}
