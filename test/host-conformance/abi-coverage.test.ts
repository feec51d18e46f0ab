// Which parts of ABI 0.2.1 the conformance suite exercises: every host import through the
// scripted probe, and every module export Envoy's HTTP filter drives. Envoy does not drive the TCP
// callbacks (no network filter here), proxy_validate_configuration or proxy_on_foreign_function
// from this HTTP host; they are listed so a gap is visible, not hidden.
import { describe, expect, test } from '@jest/globals';
import { MODULE_EXPORTS, PROXY_IMPORTS_0_2_1, ProxyWasmHost } from '../host/index.js';
import { OPS_WASM, script } from './support.js';

const NOT_DRIVEN_BY_THIS_HOST = [
  'proxy_validate_configuration',
  'proxy_on_foreign_function',
  'proxy_on_new_connection',
  'proxy_on_downstream_data',
  'proxy_on_upstream_data',
  'proxy_on_downstream_connection_close',
  'proxy_on_upstream_connection_close',
  'proxy_on_memory_allocate', // the probe exports malloc, which cpp-host prefers
  '_start',
  'main',
];

describe('ABI coverage', () => {
  test('the scripted probe imports every ABI 0.2.1 host function', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM);
    const imported = new Set(host.info.imports.filter((i) => i.module === 'env').map((i) => i.name));
    expect(Object.keys(PROXY_IMPORTS_0_2_1).filter((n) => !imported.has(n))).toEqual([]);
  });

  test('one scenario drives every HTTP-relevant module export', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM, { trace: true });
    host.cluster('c');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: script({
        configure: [
          'set_tick 10',
          'register_queue q',
          'grpc_stream c s m ',
          'http_call c :method=GET,:path=/,:authority=a x 100',
        ],
        request_headers: ['resolve_queue  q', 'enqueue $ v'],
      }),
    });
    const s = plugin.stream();
    s.requestHeaders({ ':path': '/' });
    s.requestMetadata({ m: '1' });
    s.requestBody('b');
    s.requestTrailers({ t: '1' });
    s.responseHeaders({ ':status': '200' });
    s.responseMetadata({ m: '2' });
    s.responseBody('r');
    s.responseTrailers({ t: '2' });
    s.end();
    host.pendingCalls.forEach((c) => c.respond({ status: 200 }));
    const g = host.grpcCalls.find((c) => c.root.vm.label === 'worker0')!;
    g.receiveInitialMetadata({ a: '1' });
    g.receive('m');
    g.receiveTrailingMetadata({ b: '2' });
    g.close(0);
    host.advance(10);
    plugin.shutdown();
    const called = new Set(host.trace.map((t) => t.fn));
    const expected = Object.keys(MODULE_EXPORTS).filter((n) => !NOT_DRIVEN_BY_THIS_HOST.includes(n));
    expect(expected.filter((n) => !called.has(n))).toEqual([]);
  });
});
