// CloudEvents protobuf format → structured-mode JSON object (the form the bridge validates and
// publishes). Mapping per the spec: attribute value kinds to JSON types, text data parsed when the
// content type is JSON, binary and proto data carried as data_base64.

import { Undecodable } from '../validate/cloudevent.js';

interface Timestamp {
  seconds?: number | string | { toNumber(): number };
  nanos?: number;
}
interface AttributeValue {
  attr?: string;
  ce_boolean?: boolean;
  ce_integer?: number;
  ce_string?: string;
  ce_bytes?: Uint8Array;
  ce_uri?: string;
  ce_uri_ref?: string;
  ce_timestamp?: Timestamp;
}
export interface ProtoCloudEvent {
  id?: string;
  source?: string;
  spec_version?: string;
  type?: string;
  attributes?: Record<string, AttributeValue>;
  data?: string;
  binary_data?: Uint8Array;
  text_data?: string;
  proto_data?: { type_url?: string; value?: Uint8Array };
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json(?:;|$)/i;

function rfc3339(t: Timestamp): string {
  const s = t.seconds;
  const seconds = typeof s === 'object' ? s.toNumber() : Number(s ?? 0);
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  const nanos = t.nanos ?? 0;
  return nanos ? `${base}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}Z` : `${base}Z`;
}

function attributeValue(v: AttributeValue): unknown {
  switch (v.attr) {
    case 'ce_boolean':
      return v.ce_boolean;
    case 'ce_integer':
      return v.ce_integer;
    case 'ce_string':
      return v.ce_string;
    case 'ce_bytes':
      return Buffer.from(v.ce_bytes ?? []).toString('base64');
    case 'ce_uri':
      return v.ce_uri;
    case 'ce_uri_ref':
      return v.ce_uri_ref;
    case 'ce_timestamp':
      return rfc3339(v.ce_timestamp ?? {});
    default:
      return undefined;
  }
}

const undecodable = (e: ProtoCloudEvent, reason: string): Undecodable =>
  new Undecodable({ ok: false, id: e.id ?? '', code: 'malformed', reason });

/** The structured-mode object, or a rejection when the protobuf event cannot be expressed as one. */
export function structuredFromProto(
  e: ProtoCloudEvent,
  where: string,
): Record<string, unknown> | Undecodable {
  const ev: Record<string, unknown> = {};
  // proto3 cannot tell an empty string from an absent one; absent is the honest reading.
  if (e.id) ev.id = e.id;
  if (e.source) ev.source = e.source;
  if (e.spec_version) ev.specversion = e.spec_version;
  if (e.type) ev.type = e.type;
  for (const [name, v] of Object.entries(e.attributes ?? {})) {
    const value = attributeValue(v);
    if (value === undefined) return undecodable(e, `${where}: attribute "${name}" has no value`);
    if (name in ev)
      return undecodable(e, `${where}: attribute "${name}" must be a field of CloudEvent, not in attributes`);
    ev[name] = value;
  }
  if (e.data === 'text_data') {
    const text = e.text_data ?? '';
    if (typeof ev.datacontenttype === 'string' && JSON_TYPE.test(ev.datacontenttype)) {
      try {
        ev.data = JSON.parse(text);
      } catch (err) {
        return undecodable(
          e,
          `${where}: text_data is not valid JSON although datacontenttype is ${ev.datacontenttype}: ${(err as Error).message}`,
        );
      }
    } else {
      ev.data = text;
    }
  } else if (e.data === 'binary_data') {
    ev.data_base64 = Buffer.from(e.binary_data ?? []).toString('base64');
  } else if (e.data === 'proto_data') {
    ev.data_base64 = Buffer.from(e.proto_data?.value ?? []).toString('base64');
    ev.datacontenttype ??= 'application/protobuf';
    if (e.proto_data?.type_url) ev.dataschema ??= e.proto_data.type_url;
  }
  return ev;
}
