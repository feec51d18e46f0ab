// A real HTTP subscriber on loopback for delivery tests: records every request and answers with
// whatever the test's responder says.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  /** Request path (and query). */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (
  r: Received,
  index: number,
) => { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

export class HttpSubscriber {
  readonly received: Received[] = [];
  private server: http.Server | undefined;
  private sockets = new Set<import('node:net').Socket>();
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  inFlight = 0;
  maxInFlight = 0;
  port = 0;

  constructor(public responder: Responder = () => ({ status: 200 })) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }

  async start(port = this.port): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = {
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        const index = this.received.length;
        this.received.push(r);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        const answer = this.responder(r, index);
        const reply = () => {
          this.inFlight--;
          res.writeHead(answer.status, answer.headers ?? {});
          res.end(answer.body ?? '');
          this.notify();
        };
        if (answer.delayMs) setTimeout(reply, answer.delayMs);
        else reply();
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Resolves once `n` requests have been answered in total. */
  waitFor(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.received.length - this.inFlight >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`subscriber saw ${this.received.length} requests, waited for ${n}`)),
        timeoutMs,
      );
      this.waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private notify(): void {
    const done = this.received.length - this.inFlight;
    this.waiters = this.waiters.filter((w) => (done >= w.n ? (w.resolve(), false) : true));
  }
}
