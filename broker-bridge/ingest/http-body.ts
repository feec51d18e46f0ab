// Turns an HTTP request body into structured CloudEvent objects, per the CloudEvents HTTP binding:
// batched (application/cloudevents-batch+json), structured (application/cloudevents+json) or binary
// (attributes in ce-* headers, data in the body).

import type { IncomingHttpHeaders } from 'node:http';
import { CONSTANTS } from 'cloudevents';
import { IngestRequestError, malformed } from '../validate/request-errors.js';
import { decodeHeaderValue, decodeUtf8 } from './text.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;

function parseJson(body: Buffer, what: string): unknown {
  try {
    // Invalid UTF-8 survives as lone surrogates, refused by validation with the attribute named.
    return JSON.parse(decodeUtf8(body));
  } catch (e) {
    throw malformed(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export interface HttpEvents {
  /** Plain objects, not yet validated. */
  events: unknown[];
  /** Batched mode; false for a single structured or binary-mode event (the answer's status differs). */
  batch: boolean;
}

/** Returns the events of the request. */
export function eventsFromHttp(headers: IncomingHttpHeaders, body: Buffer): HttpEvents {
  const type = mediaType(headers['content-type']);
  if (type === CONSTANTS.MIME_CE_BATCH) {
    const parsed = parseJson(body, 'batch body');
    if (!Array.isArray(parsed))
      throw malformed(
        `batch body must be a JSON array of CloudEvents, got ${typeof parsed === 'object' ? (parsed === null ? 'null' : 'an object') : typeof parsed}`,
      );
    return { events: parsed, batch: true };
  }
  if (type === CONSTANTS.MIME_CE_JSON)
    return { events: [parseJson(body, 'structured-mode body')], batch: false };
  if (headers['ce-specversion'] !== undefined || headers['ce-id'] !== undefined)
    return { events: [binaryModeEvent(headers, type, body)], batch: false };
  throw new IngestRequestError(
    415,
    `content-type ${JSON.stringify(headers['content-type'] ?? '')} is not supported: send ${CONSTANTS.MIME_CE_BATCH}, ${CONSTANTS.MIME_CE_JSON}, or binary mode (ce-* headers)`,
  );
}

function headerValue(v: string | string[] | undefined): string {
  return decodeHeaderValue(Array.isArray(v) ? v.join(',') : (v ?? ''));
}

function binaryModeEvent(headers: IncomingHttpHeaders, type: string, body: Buffer): Record<string, unknown> {
  const ev: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(headers)) {
    if (name.startsWith(CONSTANTS.EXTENSIONS_PREFIX))
      ev[name.slice(CONSTANTS.EXTENSIONS_PREFIX.length)] = headerValue(v);
  }
  const contentType = headers['content-type'];
  if (contentType) ev.datacontenttype = contentType;
  if (body.length === 0) return ev;
  if (JSON_TYPE.test(type)) ev.data = parseJson(body, `binary-mode body (content-type ${type})`);
  else if (type.startsWith('text/') || type === 'application/xml') ev.data = decodeUtf8(body);
  else ev.data_base64 = body.toString('base64');
  return ev;
}
