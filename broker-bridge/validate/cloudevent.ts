// CloudEvent checks for ingest. Every rejection carries a short code (the metrics label) and a
// reason a producer can act on, naming the event and the attribute.

import { parseTopic, TopicError } from '../../common/topic.js';
import type { BrokerMessage } from '../brokers/types.js';

export interface IngestLimits {
  /** Largest single event, as structured JSON (bytes). */
  maxEventBytes: number;
  /** Largest request body (bytes); larger requests get 413. */
  maxBatchBytes: number;
  /** Most events in one request; more get 413. */
  maxBatchEvents: number;
}

export const DEFAULT_LIMITS: IngestLimits = {
  maxEventBytes: 1024 * 1024,
  maxBatchBytes: 8 * 1024 * 1024,
  maxBatchEvents: 1000,
};

export type RejectCode =
  | 'malformed'
  | 'missing_attribute'
  | 'bad_attribute'
  | 'bad_specversion'
  | 'bad_topic'
  | 'oversize'
  | 'invalid_utf8'
  | 'forbidden'
  | 'unrepresentable'
  /** `data` breaks the event route's data contract (policy reject). */
  | 'schema';

export interface Rejection {
  ok: false;
  id: string;
  code: RejectCode;
  reason: string;
}

export interface Accepted {
  ok: true;
  message: BrokerMessage;
}

/** An event its transport could not decode; validateEvent passes its rejection through. */
export class Undecodable {
  constructor(readonly rejection: Rejection) {}
}

const REQUIRED = ['id', 'source', 'specversion', 'type'] as const;
// CloudEvents 1.0: attribute names are lower-case ASCII letters and digits.
const ATTRIBUTE_NAME = /^[a-z0-9]{1,64}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

// A lone surrogate: what an invalid UTF-8 byte decodes to (ingest/text.ts), or an unpaired
// \uD800-\uDFFF escape in JSON. Neither can be carried as UTF-8, so neither is rewritten to U+FFFD.
const LONE_SURROGATE = /\p{Cs}/u;
// JSON.stringify writes a lone surrogate as a \udXXX escape (and pairs as the characters themselves);
// the look-behind skips an escaped backslash followed by the letters "ud".
const LONE_SURROGATE_ESCAPE = /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i;

const notUtf8 = (where: string, what: string, v: string): string =>
  `${where}: ${what} is not valid UTF-8 (${JSON.stringify(v).slice(0, 80)}, invalid byte XX shown as \\udcXX); send UTF-8, the bridge does not replace bad bytes`;

/** Path (`data.a[2]`) of the first string or key in `v` that is not valid UTF-8, or null. */
function invalidTextPath(v: unknown, path: string): { path: string; text: string } | null {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? { path, text: v } : null;
  if (typeof v !== 'object' || v === null) return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = invalidTextPath(v[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  for (const [k, x] of Object.entries(v)) {
    if (LONE_SURROGATE.test(k)) return { path: `${path} key`, text: k };
    const bad = invalidTextPath(x, `${path}.${k}`);
    if (bad) return bad;
  }
  return null;
}

const reject = (id: string, code: RejectCode, reason: string): Rejection => ({ ok: false, id, code, reason });

/**
 * Checks one structured-mode CloudEvent (already JSON-parsed) and turns it into a broker message.
 * `where` names the event in reasons, e.g. "event #3".
 */
export function validateEvent(raw: unknown, where: string, limits: IngestLimits): Accepted | Rejection {
  if (raw instanceof Undecodable) return raw.rejection;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return reject('', 'malformed', `${where} is not a JSON object`);
  }
  const ev = raw as Record<string, unknown>;
  const id = typeof ev.id === 'string' ? ev.id : '';
  for (const [name, v] of Object.entries(ev)) {
    if (LONE_SURROGATE.test(name))
      return reject(id, 'invalid_utf8', notUtf8(where, 'an attribute name', name));
    if (typeof v === 'string' && LONE_SURROGATE.test(v))
      return reject(id, 'invalid_utf8', notUtf8(where, name === 'data' ? 'data' : `attribute "${name}"`, v));
  }
  for (const name of REQUIRED) {
    const v = ev[name];
    if (v === undefined || v === null)
      return reject(id, 'missing_attribute', `${where}: missing required attribute "${name}"`);
    if (typeof v !== 'string' || v.length === 0) {
      return reject(id, 'bad_attribute', `${where}: attribute "${name}" must be a non-empty string`);
    }
  }
  if (ev.specversion !== '1.0') {
    return reject(
      id,
      'bad_specversion',
      `${where}: specversion ${JSON.stringify(ev.specversion)} is not supported; send "1.0"`,
    );
  }
  for (const name of Object.keys(ev)) {
    if (name === 'data' || name === 'data_base64') continue;
    if (!ATTRIBUTE_NAME.test(name)) {
      return reject(
        id,
        'bad_attribute',
        `${where}: attribute name ${JSON.stringify(name)} is not lower-case letters and digits (CloudEvents 1.0)`,
      );
    }
    const v = ev[name];
    // CloudEvents attribute types are all scalars: boolean, integer, string (and string encodings).
    if (typeof v !== 'string' && typeof v !== 'boolean' && !Number.isInteger(v)) {
      return reject(
        id,
        'bad_attribute',
        `${where}: attribute "${name}" must be a string, boolean or integer, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : JSON.stringify(v)}`,
      );
    }
  }
  if (
    ev.time !== undefined &&
    (typeof ev.time !== 'string' || !RFC3339.test(ev.time) || Number.isNaN(Date.parse(ev.time)))
  ) {
    return reject(
      id,
      'bad_attribute',
      `${where}: attribute "time" must be an RFC 3339 timestamp, got ${JSON.stringify(ev.time)}`,
    );
  }
  if (ev.data !== undefined && ev.data_base64 !== undefined) {
    return reject(id, 'bad_attribute', `${where}: has both "data" and "data_base64"; send one`);
  }
  if (
    ev.data_base64 !== undefined &&
    (typeof ev.data_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(ev.data_base64))
  ) {
    return reject(id, 'bad_attribute', `${where}: "data_base64" must be a base64 string`);
  }
  for (const name of ['subject', 'datacontenttype', 'dataschema', 'partitionkey'] as const) {
    if (ev[name] !== undefined && typeof ev[name] !== 'string') {
      return reject(id, 'bad_attribute', `${where}: attribute "${name}" must be a string`);
    }
  }
  const topic = ev.topic;
  if (topic === undefined || topic === null) {
    return reject(
      id,
      'missing_attribute',
      `${where}: missing extension attribute "topic" (the bridge publishes to it, e.g. "acme/bank/account/opened/v1")`,
    );
  }
  if (typeof topic !== 'string')
    return reject(id, 'bad_topic', `${where}: extension "topic" must be a string`);
  try {
    parseTopic(topic);
  } catch (e) {
    if (e instanceof TopicError) return reject(id, 'bad_topic', `${where}: ${e.message}`);
    throw e;
  }
  const json = JSON.stringify(ev);
  // Cheap native scan of the serialized event; the walk that names the field runs only on a hit.
  if (LONE_SURROGATE_ESCAPE.test(json)) {
    const bad = invalidTextPath(ev.data, 'data');
    if (bad) return reject(id, 'invalid_utf8', notUtf8(where, bad.path, bad.text));
  }
  const body = Buffer.from(json);
  if (body.length > limits.maxEventBytes) {
    return reject(
      id,
      'oversize',
      `${where}: event is ${body.length} bytes, over the ${limits.maxEventBytes}-byte limit (limits.maxEventBytes)`,
    );
  }
  const key = ev.partitionkey as string | undefined;
  return { ok: true, message: key === undefined ? { id, topic, body } : { id, topic, key, body } };
}
