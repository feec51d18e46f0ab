// SDK behaviour in the Envoy-faithful test host: root factories chosen by plugin_root_id, header
// maps inside/outside their windows, properties, logging guarded by the cached level, and that no
// wrapper traps on statuses Envoy returns in normal operation. Probe: test/sdk/probes/sdk-dispatch.ts.
import { describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { LogLevel, ProxyWasmHost } from '../host/index.js';

const PROBE = fileURLToPath(new URL('../../build/sdk-probes/sdk-dispatch.wasm', import.meta.url));

async function plugin(rootId: string, logLevel: 'info' | 'debug' = 'info', pluginConfig = '') {
  const host = await ProxyWasmHost.load(PROBE, { logLevel });
  const p = await host.createPlugin({ name: 'dispatch', rootId, pluginConfig });
  return { host, p };
}

function roundTrip(p: Awaited<ReturnType<typeof plugin>>['p'], request: Record<string, string> = {}) {
  const s = p.stream({ properties: { 'xds.route_name': 'accounts_create' } });
  s.requestHeaders(
    { ':method': 'GET', ':path': '/accounts/7', ':authority': 'bank', 'x-remove-me': 'x', ...request },
    { endOfStream: true },
  );
  s.responseHeaders({ ':status': '200', 'content-type': 'text/plain' }, { endOfStream: true });
  s.end();
  const out = s.downstream.headers!.toObject();
  return { s, out, upstream: s.upstream.headers!.toObject() };
}

describe('root context dispatch by plugin_root_id', () => {
  test('root_id "alpha" gets the alpha root and its HTTP contexts', async () => {
    const { p } = await plugin('alpha');
    const { out } = roundTrip(p);
    expect(out['x-r-root']).toBe('alpha');
  });

  test('root_id "beta" gets the beta root (several factories in one module)', async () => {
    const { p } = await plugin('beta');
    const { out } = roundTrip(p);
    expect(out['x-r-root']).toBe('beta');
  });

  test('an unknown root_id logs an error naming the registered ids and passes traffic through (no trap)', async () => {
    const { p } = await plugin('gamma');
    const { s, out } = roundTrip(p);
    expect(out['x-r-root']).toBeUndefined();
    expect(s.upstream.headers!.get('x-added')).toBeUndefined();
    expect(p.vm().failed).toBeNull();
    const errors = p.messages('error').join('\n');
    expect(errors).toContain('no root context registered for root_id "gamma"');
    expect(errors).toMatch(/registered: (alpha, beta|beta, alpha)/);
  });

  test('onConfigure returning false rejects the configuration (Envoy NACKs it)', async () => {
    const host = await ProxyWasmHost.load(PROBE);
    await expect(host.createPlugin({ rootId: 'alpha', pluginConfig: 'reject' })).rejects.toThrow(
      /configuration rejected on request/,
    );
  });
});

describe('header maps', () => {
  test('request headers: case-insensitive get, add, replace, remove reach the upstream', async () => {
    const { p } = await plugin('alpha');
    const { out, upstream } = roundTrip(p, { 'x-in': 'input value' });
    expect(out['x-r-path']).toBe('/accounts/7');
    expect(out['x-r-in']).toBe('input value');
    expect(upstream['x-added']).toBe('1');
    expect(upstream['x-replaced']).toBe('r');
    expect(upstream['x-remove-me']).toBeUndefined();
  });

  test('outside the request-header window get is null and add returns BadArgument (2), without a trap', async () => {
    const { p } = await plugin('alpha');
    const { out } = roundTrip(p);
    expect(out['x-r-late-get']).toBe('null');
    expect(out['x-r-late-add']).toBe('2');
    expect(p.vm().failed).toBeNull();
  });

  test('pairs() reads every entry, setPairs() replaces the map, UTF-8 survives the round trip', async () => {
    const { p } = await plugin('beta');
    const { out } = roundTrip(p, { 'x-a': '1', 'x-b': '2' });
    expect(out['x-r-request-pairs']).toBe('6'); // 3 pseudo-headers + x-remove-me + x-a + x-b
    expect(out['x-r-response-pairs-before']).toBe('2');
    expect(out[':status']).toBe('200');
    expect(out['content-type']).toBe('text/plain');
    expect(out['x-r-utf8']).toBe('grüße ✓');
    // byteSize is Envoy's "size": bytes of keys + values, not the entry count
    const bytes = Object.entries(out)
      .filter(([k]) => k !== 'x-r-map-size' && k !== 'x-r-memory-pages')
      .reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    expect(Number(out['x-r-map-size'])).toBe(bytes);
  });
});

describe('properties', () => {
  test('path segments resolve; a missing property is null / the fallback, never a trap', async () => {
    const { p } = await plugin('alpha');
    const { out } = roundTrip(p);
    expect(out['x-r-property-path']).toBe('/accounts/7');
    expect(out['x-r-missing-property']).toBe('null');
    expect(out['x-r-missing-i64']).toBe('-7');
    expect(out['x-r-route']).toBe('accounts_create');
  });

  test('typed decoders: int64 (response.code, request.time), bool, double, map', async () => {
    const host = await ProxyWasmHost.load(PROBE, { startTimeMs: Date.UTC(2026, 5, 1) });
    const p = await host.createPlugin({ rootId: 'alpha' });
    const s = p.stream({
      properties: { 'connection.mtls': true, 'sdk.ratio': 0.25, 'sdk.labels': { a: '1', b: '2' } },
    });
    s.requestHeaders({ ':method': 'GET', ':path': '/x', ':authority': 'bank' }, { endOfStream: true });
    s.responseHeaders({ ':status': '201' }, { endOfStream: true });
    const out = s.downstream.headers!.toObject();
    expect(out['x-r-code']).toBe('201');
    expect(out['x-r-time-ms']).toBe(String(Date.UTC(2026, 5, 1)));
    expect(out['x-r-mtls']).toBe('true');
    expect(out['x-r-ratio']).toBe('0.25');
    expect(out['x-r-labels']).toBe('a=1,b=2');
  });
});

describe('lifecycle and logging', () => {
  test('on_log reaches the HTTP context; at level info the guarded debug string is not even built', async () => {
    const { p } = await plugin('alpha', 'info');
    const { out } = roundTrip(p);
    expect(p.messages('info').some((m) => m.startsWith('alpha on_log ') && m.endsWith(' /accounts/7'))).toBe(
      true,
    );
    expect(out['x-r-debug-built']).toBe('no');
  });

  test('at level debug the guarded debug line is built and written', async () => {
    const { p } = await plugin('alpha', 'debug');
    const { out } = roundTrip(p);
    expect(out['x-r-debug-built']).toBe('yes');
    expect(p.logs.filter((l) => l.level === 'debug').map((l) => l.message)).toContain(
      'alpha debug: path /accounts/7',
    );
  });

  test('a log level changed at runtime (Envoy admin /logging) is picked up within 64 streams, without ticks', async () => {
    const { host, p } = await plugin('alpha', 'info');
    roundTrip(p);
    host.logLevel = LogLevel.Debug;
    const debugAfter: boolean[] = [];
    for (let i = 0; i < 64; i++) debugAfter.push(roundTrip(p).out['x-r-debug-built'] === 'yes');
    expect(debugAfter[0]).toBe(false); // the cached level still says info
    expect(debugAfter.at(-1)).toBe(true);
  });

  test('metrics defined at configure time count every request', async () => {
    const { host, p } = await plugin('alpha');
    for (let i = 0; i < 5; i++) roundTrip(p);
    expect(host.metrics.get('sdk_dispatch.alpha.requests')).toBe(5);
  });
});

describe('memory', () => {
  // Results larger than the SDK's 16 KiB receive area go to pinned heap buffers; each must be
  // unpinned once adopted, or every such request would leak its size in linear memory.
  test.each([
    ['alpha', 'a large header value (get)'],
    ['beta', 'a large header map (pairs)'],
  ])('root %s: linear memory stays flat over 600 requests carrying %s', async (rootId) => {
    const { p } = await plugin(rootId);
    const big = 'v'.repeat(40 * 1024);
    const pages = (n: number): number => {
      let last = 0;
      for (let i = 0; i < n; i++) last = Number(roundTrip(p, { 'x-in': big }).out['x-r-memory-pages']);
      return last;
    };
    const warm = pages(100);
    const after = pages(500); // a leak of ≥ 40 KiB per request would add ≥ 300 pages here
    expect(warm).toBeGreaterThan(0);
    expect(after - warm).toBeLessThanOrEqual(4);
    expect(p.vm().failed).toBeNull();
  });
});
