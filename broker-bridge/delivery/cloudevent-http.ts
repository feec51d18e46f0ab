// Structured CloudEvent (as stored on the broker) → HTTP binary mode (CloudEvents HTTP binding §3.1):
// every attribute in a `ce-<name>` header, the original data as the body, content-type = datacontenttype,
// so an unmodified JSON handler receives exactly what the producer's response carried.

export class PoisonEventError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'PoisonEventError';
  }
}

export type StructuredEvent = Record<string, unknown> & {
  id: string;
  specversion: string;
  source: string;
  type: string;
};

export interface BinaryRequest {
  headers: Record<string, string>;
  body: Buffer;
}

/** Parses the broker body; throws PoisonEventError (dead-letter at once) when it is not a CloudEvent. */
export function parseStructured(body: Uint8Array): StructuredEvent {
  let ev: unknown;
  try {
    ev = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (e) {
    throw new PoisonEventError(`broker message is not JSON: ${(e as Error).message}`);
  }
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev))
    throw new PoisonEventError('broker message is not a JSON object');
  for (const a of ['id', 'source', 'type', 'specversion'] as const) {
    if (typeof (ev as Record<string, unknown>)[a] !== 'string' || (ev as Record<string, string>)[a] === '')
      throw new PoisonEventError(`broker message is not a CloudEvent: required attribute "${a}" is missing`);
  }
  return ev as StructuredEvent;
}

const isJsonType = (ct: string) => /^application\/(?:[^;]*\+)?json\b/i.test(ct) || /^text\/json\b/i.test(ct);

/** HTTP binding: header values are percent-encoded for space, '"', '%' and anything outside printable ASCII. */
export function encodeHeaderValue(v: string): string {
  if (!/[^\x21-\x7e]|["%]/.test(v)) return v;
  let out = '';
  for (const ch of v) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0x20 && cp < 0x7f && ch !== '"' && ch !== '%') out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function toBinaryRequest(ev: StructuredEvent): BinaryRequest {
  const headers: Record<string, string> = {};
  const contentType = typeof ev.datacontenttype === 'string' ? ev.datacontenttype : 'application/json';
  let body: Buffer;
  if (typeof ev.data_base64 === 'string') body = Buffer.from(ev.data_base64, 'base64');
  else if (ev.data === undefined) body = Buffer.alloc(0);
  else if (typeof ev.data === 'string' && !isJsonType(contentType)) body = Buffer.from(ev.data, 'utf8');
  else body = Buffer.from(JSON.stringify(ev.data), 'utf8');
  if (ev.data !== undefined || ev.data_base64 !== undefined) headers['content-type'] = contentType;
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'data' || k === 'data_base64' || k === 'datacontenttype' || v === undefined || v === null)
      continue;
    headers[`ce-${k}`] = encodeHeaderValue(typeof v === 'string' ? v : JSON.stringify(v));
  }
  // W3C Trace Context as well as the CE extension, so a subscriber's own tracing continues the
  // producer's trace (with bridge tracing on, each attempt replaces them with its own span's context).
  if (typeof ev.traceparent === 'string') headers.traceparent = ev.traceparent;
  if (typeof ev.tracestate === 'string') headers.tracestate = ev.tracestate;
  return { headers, body };
}
