// HTTP ingest: POST /v1/events (docs/interfaces.md §2). Plain HTTP, or HTTPS with optional client
// certificates whose identity names the producer.

import http from 'node:http';
import https from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Authenticator } from '../auth/producers.js';
import { IngestRequestError, tooLarge } from '../validate/request-errors.js';
import { answerBody, answerStatus } from './answer.js';
import { eventsFromHttp } from './http-body.js';
import type { IngestService } from './service.js';

export interface TlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** CA that client certificates must chain to; set it to enable mTLS producer identities. */
  ca?: string | Buffer;
}

export const INGEST_PATH = '/v1/events';

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit)
    return Promise.reject(
      tooLarge(
        `request body of ${declared} bytes is over the ${limit}-byte limit (limits.maxBatchBytes); split the batch`,
      ),
    );
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(
          tooLarge(`request body is over the ${limit}-byte limit (limits.maxBatchBytes); split the batch`),
        );
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The client certificate if one was presented and chains to the CA; 401 if presented but not trusted. */
export function verifiedClientCertificate(socket: TLSSocket): PeerCertificate | null {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return null;
  if (!socket.authorized) {
    throw new IngestRequestError(
      401,
      `client certificate is not trusted (${String(socket.authorizationError)}); it must chain to the configured CA (tls.ca)`,
    );
  }
  return cert;
}

export function createHttpIngest(service: IngestService, auth: Authenticator, tls?: TlsOptions): http.Server {
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== INGEST_PATH)
      return send(res, 404, { error: `no such path ${url}; events go to POST ${INGEST_PATH}` });
    if (req.method !== 'POST')
      return send(
        res,
        405,
        { error: `${req.method} not allowed; use POST ${INGEST_PATH}` },
        { allow: 'POST' },
      );
    try {
      const peerCertificate = tls?.ca ? verifiedClientCertificate(req.socket as TLSSocket) : null;
      const producer = auth.identify({
        authorization: req.headers.authorization,
        peerCertificate,
        forwardedClientCert: req.headers['x-forwarded-client-cert'],
      });
      const body = await readBody(req, service.limits.maxBatchBytes);
      const { events, batch } = eventsFromHttp(req.headers, body);
      const results = await service.ingest(producer, events, 'http');
      send(res, answerStatus(results, batch), answerBody(results, batch));
    } catch (e) {
      if (e instanceof IngestRequestError) {
        const headers: Record<string, string> =
          e.retryAfter !== undefined ? { 'retry-after': String(e.retryAfter) } : {};
        // Close the connection on 413 so an unread body does not linger.
        if (e.status === 413) headers.connection = 'close';
        return send(res, e.status, { error: e.message }, headers);
      }
      send(res, 500, { error: `internal error: ${(e as Error).message}` });
    }
  };
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => void handler(req, res);
  if (!tls) return http.createServer(listener);
  return https.createServer(
    {
      key: tls.key,
      cert: tls.cert,
      ca: tls.ca,
      requestCert: tls.ca !== undefined,
      rejectUnauthorized: false,
    },
    listener,
  );
}
