// Shared set-up for the event-emitter suites: the RELEASE module (what ships) in the Envoy-faithful
// test host, a base configuration, and helpers to run one HTTP exchange and read batches.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ProxyWasmHost,
  type HttpCallRecord,
  type Plugin,
  type PropertyInit,
  type PluginOptions,
  type Stream,
} from '../host/index.js';

export const RELEASE_WASM = fileURLToPath(new URL('../../build/event-emitter.wasm', import.meta.url));
const bytes = readFileSync(RELEASE_WASM);

export const BRIDGE = 'sidecast_bridge';

/** A valid configuration with one async rule; `rule` fields override the rule's, `top` the rest. */
export function config(
  rule: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    source: '//accounts.bank.svc',
    bridge: { cluster: BRIDGE, authority: 'sidecast-bridge', timeout_ms: 1000 },
    batch: { max_events: 8, flush_interval_ms: 50 },
    retry: { max_attempts: 3, base_delay_ms: 100, max_delay_ms: 400 },
    rules: [
      {
        name: 'account-opened',
        match: { method: 'POST', path: '/accounts', status: [201] },
        event: { type: 'acme.bank.account.opened.v1', topic: 'acme/bank/account/opened/v1' },
        ...rule,
      },
    ],
    ...top,
  };
}

export interface Emitter {
  host: ProxyWasmHost;
  plugin: Plugin;
}

/** Loads the module and starts the plugin (canary + workers); the bridge cluster is test-answered unless `bridgeUrl`. */
export async function emitter(
  pluginConfig: unknown,
  opts: PluginOptions & { bridgeUrl?: string } = {},
): Promise<Emitter> {
  const host = await ProxyWasmHost.load(bytes, { logLevel: 'warn' });
  host.cluster(BRIDGE, opts.bridgeUrl);
  const plugin = await host.createPlugin({
    name: 'event-emitter',
    pluginConfig: typeof pluginConfig === 'string' ? pluginConfig : JSON.stringify(pluginConfig),
    ...opts,
  });
  return { host, plugin };
}

export interface RequestSpec {
  method?: string;
  path?: string;
  authority?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | (string | Uint8Array)[];
  properties?: Record<string, PropertyInit>;
}
export interface ResponseSpec {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array | (string | Uint8Array)[];
}

function chunks(b: RequestSpec['body']): (string | Uint8Array)[] {
  return b === undefined ? [] : Array.isArray(b) ? b : [b];
}

/** Runs one complete exchange through the filter and ends the stream. */
export function exchange(plugin: Plugin, req: RequestSpec = {}, res: ResponseSpec = {}, end = true): Stream {
  const s = plugin.stream({ properties: req.properties });
  const reqBody = chunks(req.body);
  s.requestHeaders(
    {
      ':method': req.method ?? 'POST',
      ':path': req.path ?? '/accounts',
      ':authority': req.authority ?? 'accounts.bank',
      ':scheme': 'http',
      ...req.headers,
    },
    { endOfStream: reqBody.length === 0 },
  );
  reqBody.forEach((c, i) => s.requestBody(c, { endOfStream: i === reqBody.length - 1 }));
  const resBody = chunks(res.body);
  s.responseHeaders(
    { ':status': String(res.status ?? 201), ...res.headers },
    { endOfStream: resBody.length === 0 },
  );
  resBody.forEach((c, i) => s.responseBody(c, { endOfStream: i === resBody.length - 1 }));
  if (end) s.end();
  return s;
}

export type CloudEvent = Record<string, unknown> & { id: string; topic: string; data?: unknown };

/** The events of a batch call (asserts the content type). */
export function eventsOf(call: HttpCallRecord): CloudEvent[] {
  const type = call.headers.get('content-type')?.toString();
  if (type !== 'application/cloudevents-batch+json') throw new Error(`batch content-type is ${type}`);
  return JSON.parse(call.bodyText()) as CloudEvent[];
}

/** Answers a batch call the way the bridge does when it took every event. */
export function acceptAll(call: HttpCallRecord): CloudEvent[] {
  const events = eventsOf(call);
  call.respond({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ results: events.map((e) => ({ id: e.id, status: 'accepted' })) }),
  });
  return events;
}

/** Flushes (one tick) and returns the pending batch calls. */
export function flush(host: ProxyWasmHost, ms = 50): HttpCallRecord[] {
  host.advance(ms);
  return host.pendingCalls;
}

/** Emits through one exchange + flush, accepts the batch, returns its events. */
export function emitOne(e: Emitter, req: RequestSpec = {}, res: ResponseSpec = {}): CloudEvent[] {
  exchange(e.plugin, req, res);
  const calls = flush(e.host);
  return calls.length ? acceptAll(calls[0]!) : [];
}

export function stat(host: ProxyWasmHost, name: string): number {
  return host.metrics.get(`sidecast.emitter.${name}`) ?? 0;
}

export function healthy(plugin: Plugin): void {
  const failed = plugin.vm().failed;
  if (failed) throw new Error(`VM failed: ${failed}\n${plugin.messages('error').join('\n')}`);
}
