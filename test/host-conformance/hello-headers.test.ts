// The example filter of docs/writing-a-filter.md, tested with sidecast/testing exactly as the
// document shows (keep the two in step).
import { describe, expect, test } from '@jest/globals';
import { ProxyWasmHost } from '../host/index.js';

const WASM = new URL('../../build/hello-headers.wasm', import.meta.url).pathname;

describe('hello-headers', () => {
  test('adds x-hello with the configured greeting and counts requests on every worker', async () => {
    const host = await ProxyWasmHost.load(WASM);
    const plugin = await host.createPlugin({
      rootId: 'hello-headers',
      pluginConfig: 'hi from sidecast',
      workers: 2,
    });

    for (const worker of [0, 1]) {
      const s = plugin.stream({ worker });
      expect(
        s.requestHeaders(
          { ':method': 'GET', ':path': '/accounts', ':authority': 'bank' },
          { endOfStream: true },
        ),
      ).toBe('Continue');
      expect(s.responseHeaders({ ':status': '200' }, { endOfStream: true })).toBe('Continue');
      s.end();
      expect(s.downstream.headers?.get('x-hello')?.toString()).toBe('hi from sidecast');
      expect(s.upstream.headers?.get(':path')?.toString()).toBe('/accounts');
    }

    expect(host.metrics.get('hello_headers.requests')).toBe(2); // one Envoy stat for all workers
    expect(plugin.messages('info')).toContain('hello-headers configured, greeting: hi from sidecast');
  });

  test('greets with "hello" when the plugin configuration is empty', async () => {
    const host = await ProxyWasmHost.load(WASM);
    const plugin = await host.createPlugin({ rootId: 'hello-headers' });
    const s = plugin.stream();
    s.requestHeaders({ ':method': 'GET', ':path': '/', ':authority': 'bank' }, { endOfStream: true });
    s.responseHeaders({ ':status': '204' }, { endOfStream: true });
    expect(s.downstream.headers?.toObject()).toEqual({ ':status': '204', 'x-hello': 'hello' });
  });
});
