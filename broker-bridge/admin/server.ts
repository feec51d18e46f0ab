// Admin HTTP: /healthz (process alive), /readyz (can this bridge take events now?), /metrics.
// Ready means: not shutting down, and the broker is connected or the spool still has room — a
// bridge whose broker is down still accepts events durably while its spool lasts.

import http from 'node:http';
import type { BridgeMetrics } from './metrics.js';

export interface ReadinessSource {
  brokerKind: string;
  brokerConnected(): boolean;
  spool(): { depth: number; bytes: number; maxBytes: number; full: boolean };
  stopping(): boolean;
  /** Further sections of the /readyz body (e.g. delivery's refused subscriptions); they never make it unready. */
  details?(): Array<{ name: string; value: unknown; reasons: string[] }>;
}

export function readiness(src: ReadinessSource): { ready: boolean; body: Record<string, unknown> } {
  const spool = src.spool();
  const connected = src.brokerConnected();
  const spoolFull = spool.full;
  const ready = !src.stopping() && (connected || !spoolFull);
  const reasons: string[] = [];
  if (src.stopping()) reasons.push('shutting down');
  if (!connected) reasons.push(`broker ${src.brokerKind} unreachable; events go to the spool`);
  if (spoolFull) reasons.push('spool full: new events get 503 until replay frees space');
  const body: Record<string, unknown> = {
    ready,
    broker: { kind: src.brokerKind, connected },
    spool,
    reasons,
  };
  for (const d of src.details?.() ?? []) {
    body[d.name] = d.value;
    reasons.push(...d.reasons);
  }
  return { ready, body };
}

export function createAdminServer(metrics: BridgeMetrics, src: ReadinessSource): http.Server {
  return http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url === '/healthz') return json(200, { ok: true });
    if (url === '/readyz') {
      const r = readiness(src);
      return json(r.ready ? 200 : 503, r.body);
    }
    if (url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (e: Error) => json(500, { error: `metrics collection failed: ${e.message}` }),
      );
      return;
    }
    json(404, { error: `no such path ${url}; try /healthz, /readyz or /metrics` });
  });
}
