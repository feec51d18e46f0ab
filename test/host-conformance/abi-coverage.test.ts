// Which parts of ABI 0.2.1 the conformance suite exercises: every host import through the
// scripted probe, and every module export through one scenario: an HTTP stream, a TCP connection
// (network filter), callouts, queue, tick, shutdown, plus the two exports stock Envoy never drives
// (proxy_validate_configuration, proxy_on_foreign_function) through the embedder hooks that model
// cpp-host's Context::validateConfiguration / onForeignFunction. The alternatives to exports the
// probe has (allocator, startup function) are driven through two small hand-written modules.
import { describe, expect, test } from '@jest/globals';
import { MODULE_EXPORTS, PROXY_IMPORTS_0_2_1, ProxyWasmHost } from '../host/index.js';
import { OPS_WASM, minimalModule, script, wat } from './support.js';

const ALTERNATIVES_NOT_IN_THE_PROBE = [
  'proxy_on_memory_allocate', // the probe exports malloc, which cpp-host prefers
  '_start', // the probe has _initialize, which cpp-host runs instead
  'main', // run after _initialize; the probe has none
];

/** Reads VmConfiguration in on_vm_start, so the host must allocate in the module. */
const READS_VM_CONFIG = `
  (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (drop (call $get (i32.const 6) (i32.const 0) (i32.const 100) (i32.const 0) (i32.const 4)))
    i32.const 1)`;

describe('ABI coverage', () => {
  test('the scripted probe imports every ABI 0.2.1 host function', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM);
    const imported = new Set(host.info.imports.filter((i) => i.module === 'env').map((i) => i.name));
    expect(Object.keys(PROXY_IMPORTS_0_2_1).filter((n) => !imported.has(n))).toEqual([]);
  });

  test('one scenario drives every module export (HTTP stream, TCP connection, callouts, embedder hooks)', async () => {
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
    const c = plugin.connection();
    c.downstreamData('d');
    c.upstreamData('u', { endOfStream: true });
    c.close();
    plugin.validateConfiguration('candidate');
    plugin.foreignFunction(1, 'args');
    plugin.shutdown();
    const called = new Set(host.trace.map((t) => t.fn));
    expect([...ALTERNATIVES_NOT_IN_THE_PROBE].filter((n) => called.has(n))).toEqual([]);
    const expected = Object.keys(MODULE_EXPORTS).filter((n) => !ALTERNATIVES_NOT_IN_THE_PROBE.includes(n));
    expect(expected.filter((n) => !called.has(n))).toEqual([]);
  });

  test('the alternatives: _initialize then main(0, 0) (cpp-host startVm, WASI reactor); _start when there is no _initialize; proxy_on_memory_allocate when there is no malloc', async () => {
    const reactor = wat(
      minimalModule(
        `${READS_VM_CONFIG}
        (func (export "_initialize"))
        (func (export "main") (param i32 i32) (result i32) i32.const 0)`,
        { malloc: '(func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)' },
      ),
    );
    const command = wat(minimalModule('(func (export "_start"))'));
    const called: string[] = [];
    for (const bytes of [reactor, command]) {
      const host = await ProxyWasmHost.load(bytes, { trace: true });
      await host.createPlugin({ vmConfig: 'vm-config' });
      called.push(...host.trace.filter((t) => t.vm === 'worker0').map((t) => t.fn));
    }
    expect(called.slice(0, 3)).toEqual(['_initialize', 'main', 'proxy_on_vm_start']);
    expect(called).toContain('proxy_on_memory_allocate');
    expect(called).toContain('_start');
    expect(ALTERNATIVES_NOT_IN_THE_PROBE.filter((n) => !called.includes(n))).toEqual([]);
  });
});
