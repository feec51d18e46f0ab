// One delivery attempt: POST with a per-attempt timeout over a keep-alive agent, classified into
// what the retry loop needs (status, Retry-After, a short body excerpt for the dead-letter reason).
import http from 'node:http';
import https from 'node:https';
import { parseRetryAfter } from './backoff.js';

export type AttemptResult =
  | { kind: 'response'; status: number; retryAfterMs?: number; excerpt: string }
  /** No HTTP answer at all (refused, reset, DNS): the subscriber is down, not rejecting the event. */
  | { kind: 'unreachable'; error: string }
  | { kind: 'timeout'; timeoutMs: number };

const EXCERPT_BYTES = 256;

export function agentFor(url: string, maxSockets: number): http.Agent {
  const opts = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
  return url.startsWith('https:') ? new https.Agent(opts) : new http.Agent(opts);
}

export function postOnce(
  url: URL,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
  agent: http.Agent,
  signal?: AbortSignal,
): Promise<AttemptResult> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = mod.request(url, { method: 'POST', agent, signal, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < EXCERPT_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('end', () =>
        done({
          kind: 'response',
          status: res.statusCode ?? 0,
          retryAfterMs: parseRetryAfter(res.headers['retry-after']),
          excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8'),
        }),
      );
      res.on('error', (e) => done({ kind: 'unreachable', error: e.message }));
    });
    const timer = setTimeout(() => {
      done({ kind: 'timeout', timeoutMs });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => done({ kind: 'unreachable', error: e.code ? `${e.code} ${e.message}` : e.message }));
    req.end(body);
  });
}
