// VM / plugin / stream lifecycle (reference §2.1–2.4, checklist §2.16 point 6).
import { describe, expect, test } from '@jest/globals';
import { PluginRejectedError, ProxyWasmHost } from '../host/index.js';
import { callbacks, OPS_WASM, opsPlugin, result, script } from './support.js';

const REQ = { ':method': 'GET', ':path': '/a', ':authority': 'svc', ':scheme': 'http' };

describe('plugin lifecycle', () => {
  test('§2.1 a canary VM then one VM per worker each run _initialize → context_create(root,0) → on_vm_start → on_configure', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM, { trace: true });
    await host.createPlugin({ rootId: 'ops', workers: 2 });
    const seq = host.trace
      .filter((t) => t.fn !== 'malloc')
      .map((t) => `${t.vm}:${t.fn}(${t.args.join(',')})`);
    const perVm = (vm: string) => [
      `${vm}:_initialize()`,
      `${vm}:proxy_on_context_create(1,0)`,
      `${vm}:proxy_on_vm_start(1,0)`,
      `${vm}:proxy_on_configure(1,0)`,
    ];
    expect(seq).toEqual([...perVm('canary'), ...perVm('worker0'), ...perVm('worker1')]);
  });

  test('§2.1 on_vm_start / on_configure side effects repeat per VM (workers + canary)', async () => {
    const { plugin } = await opsPlugin({ configure: ['log 2 configured'] }, { workers: 3 });
    expect(plugin.logs.filter((l) => l.message === 'configured').map((l) => l.vm)).toEqual([
      'canary',
      'worker0',
      'worker1',
      'worker2',
    ]);
  });

  test('§2.1 on_configure returning false rejects the plugin, with the plugin logs in the error', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM);
    const err = await host
      .createPlugin({
        rootId: 'ops',
        pluginConfig: script({ configure: ['log 3 bad%20config', 'return 0'] }),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginRejectedError);
    expect(
      (err as PluginRejectedError).logs.some((l) => l.message === 'bad config' && l.vm === 'canary'),
    ).toBe(true);
    expect(String(err)).toMatch(/bad config/);
  });

  test('§2.1 on_vm_start returning false rejects the plugin', async () => {
    await expect(opsPlugin({}, { vmScripts: { vm_start: ['return 0'] } })).rejects.toThrow(
      PluginRejectedError,
    );
  });

  test('§2.2 plugin configuration is readable only inside on_configure; vm configuration from any callback', async () => {
    const { plugin } = await opsPlugin(
      { configure: ['buffer_status 7'], request_headers: ['buffer_status 7', 'buffer_status 6'] },
      { vmScripts: { unused: ['log 0 x'] } },
    );
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'configure', 'buffer_status 7')).toMatch(/^0 \d+ 0$/);
    expect(result(plugin, 'request_headers', 'buffer_status 7')).toBe('1 0 0');
    expect(result(plugin, 'request_headers', 'buffer_status 6')).toMatch(/^0 [1-9]\d* 0$/);
  });

  test('§2.1 root context ids start at 1 per VM and stream ids continue the same counter', async () => {
    const { plugin } = await opsPlugin({}, { workers: 2 });
    const a = plugin.stream({ worker: 0 });
    const b = plugin.stream({ worker: 0 });
    const c = plugin.stream({ worker: 1 });
    for (const s of [a, b, c]) s.requestHeaders(REQ, { endOfStream: true });
    expect([plugin.rootContextId(0), plugin.rootContextId(1)]).toEqual([1, 1]);
    expect([a.contextId, b.contextId, c.contextId]).toEqual([2, 3, 2]);
  });

  test('§2.4 the stream context is created lazily by the first callback, not when the stream opens', async () => {
    const { host, plugin } = await opsPlugin({}, { host: { trace: true } });
    const s = plugin.stream();
    expect(s.contextId).toBeUndefined();
    expect(host.trace.some((t) => t.fn === 'proxy_on_context_create' && t.args[1] === 1)).toBe(false);
    s.requestHeaders(REQ);
    expect(
      host.trace
        .filter((t) => t.vm === 'worker0')
        .slice(-2)
        .map((t) => t.fn),
    ).toEqual(['proxy_on_context_create', 'proxy_on_request_headers']);
  });

  test('§2.4 stream end runs on_log, then on_done, then on_delete', async () => {
    const { plugin } = await opsPlugin({});
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.responseHeaders({ ':status': '200' }, { endOfStream: true });
    s.end();
    expect(
      callbacks(plugin)
        .slice(-6)
        .map((c) => c.split(' ')[0]),
    ).toEqual(['create', 'request_headers', 'response_headers', 'log', 'done', 'delete']);
  });

  test('§2.4 on_done returning false is ignored for stream contexts (on_delete still follows)', async () => {
    const { plugin } = await opsPlugin({ done: ['return 0'] });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.end();
    expect(
      callbacks(plugin)
        .slice(-2)
        .map((c) => c.split(' ')[0]),
    ).toEqual(['done', 'delete']);
  });

  test('§2.4 access-log-only path: a stream that never reached the filter gets context_create then on_log', async () => {
    const { plugin } = await opsPlugin({ log: ['get_pairs 0'] });
    const s = plugin.stream();
    s.end();
    expect(
      callbacks(plugin)
        .slice(-4)
        .map((c) => c.split(' ')[0]),
    ).toEqual(['create', 'log', 'done', 'delete']);
    expect(result(plugin, 'log', 'get_pairs 0')).toBe('0 ptr0');
  });

  test('§2.4 proxy_done from a context that is not a root waiting after on_done(false) is NotFound', async () => {
    const { plugin } = await opsPlugin({ configure: ['done'], request_headers: ['done'] });
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'configure', 'done')).toBe('1');
    expect(result(plugin, 'request_headers', 'done')).toBe('1');
  });

  test('§2.4 without a VM context (request headers never reached the filter) the response passes untouched', async () => {
    const { plugin } = await opsPlugin({ response_headers: ['add_header 2 x-touched 1'] });
    const s = plugin.stream();
    expect(s.responseHeaders({ ':status': '502' })).toBe('Continue');
    expect(s.responseBody('gateway', { endOfStream: true })).toBe('Continue');
    expect(s.downstream.headers?.toObject()).toEqual({ ':status': '502' });
    expect([s.downstream.body.toString(), s.downstream.ended]).toEqual(['gateway', true]);
    expect(callbacks(plugin).some((c) => c.startsWith('response_headers'))).toBe(false);
  });

  test('§1.2 metadata callbacks get the element count; their result is ignored (always Continue)', async () => {
    const { plugin } = await opsPlugin({ request_metadata: ['return 1'] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(s.requestMetadata({ a: '1', b: '2' })).toBe('Continue');
    expect(callbacks(plugin).find((c) => c.startsWith('request_metadata'))).toBe(
      'request_metadata ctx=2 2 0',
    );
  });

  test('§2.4 root shutdown: on_done true ⇒ on_delete at once', async () => {
    const { plugin } = await opsPlugin({});
    plugin.shutdown();
    expect(
      callbacks(plugin)
        .slice(-2)
        .map((c) => c.split(' ')[0]),
    ).toEqual(['root_done', 'root_delete']);
  });

  test('§2.4 root shutdown: on_done false ⇒ on_delete only after proxy_done (deferred out of the call)', async () => {
    const { host, plugin } = await opsPlugin({
      root_done: ['return 0', 'set_tick 5'],
      tick: ['done', 'done'],
    });
    plugin.shutdown();
    expect(callbacks(plugin).some((c) => c.startsWith('root_delete'))).toBe(false);
    host.advance(5);
    expect(results(plugin)).toEqual(['0', '1']);
    expect(
      callbacks(plugin)
        .slice(-2)
        .map((c) => c.split(' ')[0]),
    ).toEqual(['tick', 'root_delete']);

    function results(p: typeof plugin) {
      return p.logs.filter((l) => l.message.startsWith('tick done =>')).map((l) => l.message.split('=> ')[1]);
    }
  });

  test('§2.1 a config-only update reuses the worker VM: new root (create → vm_start → configure), then the old root is done and deleted', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM, { trace: true });
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: script({ configure: ['log 2 v1'] }),
    });
    const vm = plugin.vm(0);
    const mark = host.trace.length;
    plugin.reconfigure(script({ configure: ['log 2 v2'] }));
    expect(plugin.vm(0)).toBe(vm);
    const w0 = host.trace
      .slice(mark)
      .filter((t) => t.vm === 'worker0' && t.fn !== 'malloc')
      .map((t) => `${t.fn}(${t.args.join(',')})`);
    expect(w0).toEqual([
      'proxy_on_context_create(2,0)',
      'proxy_on_vm_start(2,0)',
      `proxy_on_configure(2,${script({ configure: ['log 2 v2'] }).length})`,
      'proxy_on_done(1)',
      'proxy_on_delete(1)',
    ]);
    expect(
      plugin.logs.filter((l) => l.vm === 'worker0' && /^v\d$/.test(l.message)).map((l) => l.message),
    ).toEqual(['v1', 'v2']);
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    expect(host.trace.filter((t) => t.fn === 'proxy_on_context_create').at(-1)?.args).toEqual([3, 2]);
  });

  test('§2.1 a rejected config update (canary says false) keeps the old configuration', async () => {
    const { plugin } = await opsPlugin({ configure: ['log 2 ok'] });
    expect(() => plugin.reconfigure(script({ configure: ['return 0'] }))).toThrow(PluginRejectedError);
    expect(plugin.rootContextId(0)).toBe(1);
  });

  test('§2.1 plugins with the same VM key share each worker VM, each with its own root context; a trap fails both', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM);
    const a = await host.createPlugin({
      rootId: 'ops',
      name: 'a',
      vmId: 'shared',
      pluginConfig: script({ request_headers: ['trap'] }),
    });
    const b = await host.createPlugin({ rootId: 'other', name: 'b', vmId: 'shared' });
    const c = await host.createPlugin({ rootId: 'other', name: 'c', vmId: 'elsewhere' });
    expect(b.vm(0)).toBe(a.vm(0));
    expect(c.vm(0)).not.toBe(a.vm(0));
    expect([a.rootContextId(0), b.rootContextId(0)]).toEqual([1, 2]);
    a.stream().requestHeaders(REQ);
    const sb = b.stream();
    sb.requestHeaders(REQ);
    expect(sb.localReply?.details).toBe('wasm_fail_stream');
    const sc = c.stream();
    sc.requestHeaders(REQ);
    expect(sc.localReply).toBeUndefined();
  });

  test('§2.1 a second plugin with the same root_id and VM key gets a VM of its own', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM);
    const a = await host.createPlugin({ rootId: 'ops' });
    const b = await host.createPlugin({ rootId: 'ops' });
    expect(b.vm(0)).not.toBe(a.vm(0));
  });
});
