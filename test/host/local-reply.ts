// The headers and body of a local reply, as Envoy's Http::Utility::prepareLocalReply and
// encodeLocalReply build them (source/common/http/utility.cc), for a reply sent with
// proxy_send_local_response (the filter's headers are added with addCopy, as Envoy's wasm
// Context::sendLocalResponse does) or by Envoy itself. No local_reply_config rewrite is modelled.
import { HeaderMap, type Pair } from './pairs.js';

export interface LocalReplyInput {
  status: number;
  body: Buffer;
  /** Added after :status, in order (the filter's additional headers). */
  headers: [string, string][];
  /** 0..16, else undefined (SDKs pass -1 for "none"). */
  grpcStatus?: number;
}

export interface PreparedLocalReply {
  headers: HeaderMap;
  /** What goes downstream after the headers (empty: the headers end the stream). */
  body: Buffer;
}

/** Envoy's Grpc::Common::hasGrpcContentType: "application/grpc" or "application/grpc+…" (not grpc-web). */
export function isGrpcRequest(headers: HeaderMap | null | undefined): boolean {
  const type = headers?.get('content-type')?.toString() ?? '';
  return type === 'application/grpc' || type.startsWith('application/grpc+');
}

/** Envoy's Grpc::Utility::httpToGrpcStatus (grpc/doc/http-grpc-status-mapping.md). */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** Envoy's PercentEncoding::encode for grpc-message: bytes outside ' '..'~' and '%' become %XX. */
function percentEncode(body: Buffer): string {
  let out = '';
  for (const b of body) {
    out +=
      b < 0x20 || b > 0x7e || b === 0x25
        ? `%${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b);
  }
  return out;
}

/** HeaderMap set*(): one entry with this value (the first kept in place), added when absent. */
function set(h: HeaderMap, key: string, value: string): void {
  const first = h.entries.findIndex(([k]) => k === key);
  if (first < 0) return h.add(key, Buffer.from(value));
  h.entries[first] = [key, Buffer.from(value)];
  for (let i = h.entries.length - 1; i > first; i--) if (h.entries[i]![0] === key) h.entries.splice(i, 1);
}

export function prepareLocalReply(
  r: LocalReplyInput,
  request: { grpc: boolean; head: boolean },
): PreparedLocalReply {
  const headers = new HeaderMap();
  headers.add(':status', Buffer.from(String(r.status)));
  const extra: Pair[] = r.headers.map(([k, v]) => [k.toLowerCase(), Buffer.from(v)]);
  for (const [k, v] of extra) headers.add(k, v);
  if (request.grpc) {
    // gRPC: a trailers-only answer, HTTP 200, the status in grpc-status, the body in grpc-message.
    set(headers, ':status', '200');
    set(headers, 'content-type', 'application/grpc');
    if (headers.get('grpc-status') === undefined)
      headers.add('grpc-status', Buffer.from(String(r.grpcStatus ?? httpToGrpcStatus(r.status))));
    if (r.body.length > 0 && !request.head) set(headers, 'grpc-message', percentEncode(r.body));
    headers.remove('content-length');
    return { headers, body: Buffer.alloc(0) };
  }
  if (r.body.length > 0) {
    set(headers, 'content-length', String(r.body.length));
    if (headers.get('content-type') === undefined) headers.add('content-type', Buffer.from('text/plain'));
  } else {
    headers.remove('content-length');
    headers.remove('content-type');
  }
  // HEAD: the headers (content-length included) end the stream.
  return { headers, body: request.head ? Buffer.alloc(0) : r.body };
}
