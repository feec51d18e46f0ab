// Starts a real bridge for the ingest/spool suites: embedded broker and spool in a temp dir, every
// listener on 127.0.0.1 port 0, logs silenced. Not a test file itself.
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createBridge, defaultConfig, type Bridge, type BridgeConfig } from '../../broker-bridge/index.js';
import type { BrokerAdapter, ReceivedMessage } from '../../broker-bridge/brokers/types.js';
import { INGEST_METHOD } from '../../broker-bridge/ingest/grpc.js';
import { sidecastRoot } from '../../proto/sidecast.js';

/** What POST /v1/events answers: results on 200, error otherwise. */
export interface Reply {
  results: Array<{ id: string; status: string; reason?: string }>;
  error: string;
}

export interface Running {
  bridge: Bridge;
  dir: string;
  url: string;
  post(
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; json: Reply }>;
  stop(): Promise<void>;
}

export type ConfigEdit = (c: BridgeConfig) => void;

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sidecast-bridge-'));
}

export function testConfig(dir: string, edit?: ConfigEdit): BridgeConfig {
  const c = defaultConfig(dir);
  c.http = { host: '127.0.0.1', port: 0 };
  c.grpc = { host: '127.0.0.1', port: 0 };
  c.admin = { host: '127.0.0.1', port: 0 };
  c.auth = { allowUnauthenticated: true, producers: [] };
  c.publisher = { backoffInitialMs: 20, backoffMaxMs: 200, retryAfterSeconds: 7 };
  c.shutdownTimeoutMs = 5000;
  edit?.(c);
  return c;
}

export async function startBridge(
  opts: { dir?: string; edit?: ConfigEdit; broker?: BrokerAdapter } = {},
): Promise<Running> {
  const dir = opts.dir ?? (await tempDir());
  const bridge = await createBridge(testConfig(dir, opts.edit), {
    logger: pino({ level: 'silent' }),
    ...(opts.broker ? { broker: opts.broker } : {}),
  });
  await bridge.start();
  const url = `http://127.0.0.1:${bridge.ports.http}/v1/events`;
  return {
    bridge,
    dir,
    url,
    async post(body, headers = { 'content-type': 'application/cloudevents-batch+json' }) {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: Reply;
      try {
        json = JSON.parse(text) as Reply;
      } catch {
        throw new Error(`bridge answered ${res.status} with a body that is not JSON: ${text}`);
      }
      return { status: res.status, headers: res.headers, json };
    },
    stop: () => bridge.stop(),
  };
}

export const removeDir = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true });

let seq = 0;
/** A valid structured CloudEvent; override any attribute. */
export function event(over: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    specversion: '1.0',
    id: `ev-${process.pid}-${seq}`,
    source: '//accounts.bank.svc',
    type: 'acme.bank.account.opened.v1',
    time: '2026-11-27T17:30:00Z',
    datacontenttype: 'application/json',
    topic: 'acme/bank/account/opened/v1',
    data: { account: seq },
    ...over,
  };
}

/** Collects what a durable consumer on the bridge's broker receives. */
export async function tap(
  broker: BrokerAdapter,
  name: string,
  pattern = '>',
): Promise<{ got: ReceivedMessage[]; until(n: number): Promise<void>; close(): Promise<void> }> {
  const got: ReceivedMessage[] = [];
  const c = await broker.subscribe(
    { name, patterns: [pattern], maxInFlight: 64 },
    async (m) => void got.push(m),
  );
  return {
    got,
    async until(n) {
      const deadline = Date.now() + 20_000;
      while (got.length < n) {
        if (Date.now() > deadline)
          throw new Error(
            `timed out: ${got.length} of ${n} events arrived: ${got.map((m) => m.id).join(',')}`,
          );
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => c.close(),
  };
}

/** Calls sidecast.v1.Ingest/Publish with raw request bytes; resolves with the decoded response. */
export function grpcPublish(
  port: number,
  request: Uint8Array,
  opts: {
    metadata?: grpc.Metadata;
    credentials?: grpc.ChannelCredentials;
    options?: grpc.ChannelOptions;
  } = {},
): Promise<{ results: Array<{ id: string; status: string; reason?: string }> }> {
  const client = new grpc.Client(
    `127.0.0.1:${port}`,
    opts.credentials ?? grpc.credentials.createInsecure(),
    opts.options,
  );
  const response = sidecastRoot().lookupType('sidecast.v1.PublishResponse');
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      INGEST_METHOD,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) =>
        response.toObject(response.decode(b), { enums: String }) as {
          results: Array<{ id: string; status: string; reason?: string }>;
        },
      request,
      opts.metadata ?? new grpc.Metadata(),
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res!);
      },
    );
  });
}

export function encodeBatch(events: object[]): Uint8Array {
  const t = sidecastRoot().lookupType('io.cloudevents.v1.CloudEventBatch');
  const problem = t.verify({ events });
  if (problem) throw new Error(`test batch does not fit CloudEventBatch: ${problem}`);
  return t.encode(t.fromObject({ events })).finish();
}
