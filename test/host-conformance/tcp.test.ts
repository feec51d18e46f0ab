// Network (TCP) filter contexts as Envoy drives them: extensions/common/wasm/context.cc
// (onNewConnection, onData, onWrite, onEvent, onCloseTCP, getBuffer Downstream/UpstreamData,
// continueStream/closeStream for Downstream/Upstream) and proxy-wasm-cpp-host context.cc
// (onDownstreamData & co., CHECK_FAIL_NET). Probes: the scripted test/host/probes/abi-ops.ts
// (OpsConnection extends the SDK's TcpContext) and test/sdk/probes/sdk-tcp.ts (SDK API only).
import { describe, expect, test } from '@jest/globals';
import { ProxyWasmHost, WasmResult } from '../host/index.js';
import { ROOT, callbacks, opsPlugin, result, results, type Scripts } from './support.js';

const TCP_WASM = `${ROOT}build/sdk-probes/sdk-tcp.wasm`;

/** Callback lines of the connection context only (drops the HTTP guess "@create" the SDK makes first). */
function connectionCallbacks(plugin: Parameters<typeof callbacks>[0], ctx: number): string[] {
  return callbacks(plugin).filter((l) => l.includes(`ctx=${ctx} `) && !l.startsWith('create '));
}

async function tcp(scripts: Scripts, opts: Parameters<typeof opsPlugin>[1] = {}) {
  return opsPlugin(scripts, { host: { trace: true }, ...opts });
}

describe('connection lifecycle (Context::onNewConnection, onEvent, onCloseTCP)', () => {
  test('accepting a connection creates the context (proxy_on_context_create(ctx, root)) and calls proxy_on_new_connection at once', async () => {
    const { host, plugin } = await tcp({});
    const c = plugin.connection();
    expect(c.contextId).toBe(2);
    expect(c.actions).toEqual([{ phase: 'new_connection', status: 'Continue', raw: 0 }]);
    const worker = host.trace
      .filter((t) => t.vm === 'worker0' && t.fn.startsWith('proxy_on_'))
      .map((t) => t.fn);
    expect(worker.slice(-2)).toEqual(['proxy_on_context_create', 'proxy_on_new_connection']);
    expect(host.trace.find((t) => t.fn === 'proxy_on_context_create' && t.args[0] === 2)?.args).toEqual([
      2, 1,
    ]);
  });

  test('client close (RemoteClose ⇒ peer 2): proxy_on_downstream_connection_close, then proxy_on_done → proxy_on_log → proxy_on_delete (done BEFORE log, unlike HTTP)', async () => {
    const { plugin } = await tcp({});
    const c = plugin.connection();
    c.close('remote');
    expect(connectionCallbacks(plugin, 2)).toEqual([
      'create_connection ctx=2 0 0',
      'new_connection ctx=2 0 0',
      'downstream_close ctx=2 2 0',
      'done ctx=2 0 0',
      'log ctx=2 0 0',
      'delete ctx=2 0 0',
    ]);
    expect(c.closed).toEqual({ by: 'remote', details: '' });
    expect(plugin.vm().contexts.has(2)).toBe(false);
  });

  test('an end_stream write from the upstream reports proxy_on_upstream_connection_close(ctx, Unknown=0); teardown waits for the downstream close', async () => {
    const { plugin } = await tcp({});
    const c = plugin.connection();
    c.upstreamData('bye', { endOfStream: true });
    expect(connectionCallbacks(plugin, 2).slice(2)).toEqual([
      'upstream_data ctx=2 3 1',
      'upstream_close ctx=2 0 0',
    ]);
    expect(c.downstream).toEqual({ data: Buffer.from('bye'), ended: true });
    c.close('local');
    expect(connectionCallbacks(plugin, 2).slice(4)).toEqual([
      'downstream_close ctx=2 1 0',
      'done ctx=2 0 0',
      'log ctx=2 0 0',
      'delete ctx=2 0 0',
    ]);
  });

  test('after the close nothing reaches the filter any more (Skipped)', async () => {
    const { plugin } = await tcp({});
    const c = plugin.connection();
    c.close();
    expect(c.downstreamData('late')).toBe('Skipped');
    expect(c.upstreamData('late')).toBe('Skipped');
    expect(
      callbacks(plugin).filter((l) => l.startsWith('downstream_data') || l.startsWith('upstream_data')),
    ).toEqual([]);
  });
});

describe('data callbacks (Context::onData / onWrite) and buffers DownstreamData (2) / UpstreamData (3)', () => {
  test('proxy_on_downstream_data(ctx, size, eos) sees the bytes as buffer 2; Continue passes them upstream', async () => {
    const { plugin } = await tcp({ downstream_data: ['get_buffer 2 0 100', 'buffer_status 2'] });
    const c = plugin.connection();
    expect(c.downstreamData('hello')).toBe('Continue');
    expect(result(plugin, 'downstream_data', 'get_buffer')).toBe('0 hello');
    expect(result(plugin, 'downstream_data', 'buffer_status')).toBe('0 5 0');
    expect(c.upstream).toEqual({ data: Buffer.from('hello'), ended: false });
    c.downstreamData('', { endOfStream: true });
    expect(callbacks(plugin).filter((l) => l.startsWith('downstream_data'))).toEqual([
      'downstream_data ctx=2 5 0',
      'downstream_data ctx=2 0 1',
    ]);
    expect(c.upstream.ended).toBe(true);
  });

  test('set_buffer_bytes rewrites what goes on (Envoy Buffer::copyFrom: start 0 drains len then prepends; start ≥ size appends; else BadArgument)', async () => {
    const { plugin } = await tcp({
      downstream_data: ['set_buffer 2 0 2 HE', 'set_buffer 2 99 0 !', 'set_buffer 2 1 0 x'],
      upstream_data: ['set_buffer 3 0 0 <'],
    });
    const c = plugin.connection();
    c.downstreamData('hello');
    expect(results(plugin, 'downstream_data', 'set_buffer')).toEqual([
      '0',
      '0',
      String(WasmResult.BadArgument),
    ]);
    expect(c.upstream.data.toString()).toBe('HEllo!');
    c.upstreamData('reply');
    expect(c.downstream.data.toString()).toBe('<reply');
  });

  test('StopIteration leaves the bytes in the read buffer: the next read calls the filter with the accumulated size', async () => {
    const { plugin } = await tcp({ downstream_data: ['get_buffer 2 0 100', 'return 1'] });
    const c = plugin.connection();
    expect(c.downstreamData('ab')).toBe('StopIteration');
    expect(c.downstreamData('cd')).toBe('StopIteration');
    expect(results(plugin, 'downstream_data', 'get_buffer')).toEqual(['0 ab', '0 abcd']);
    expect(callbacks(plugin).filter((l) => l.startsWith('downstream_data'))).toEqual([
      'downstream_data ctx=2 2 0',
      'downstream_data ctx=2 4 0',
    ]);
    expect(c.upstream.data.length).toBe(0);
  });

  test('any non-zero result is StopIteration (cpp-host: result == 0 ? Continue : StopIteration)', async () => {
    const { plugin } = await tcp({ new_connection: ['return 7'], upstream_data: ['return 42'] });
    const c = plugin.connection();
    expect(c.actions[0]).toEqual({ phase: 'new_connection', status: 'StopIteration', raw: 7 });
    expect(c.upstreamData('x')).toBe('StopIteration');
    expect(c.downstream.data.length).toBe(0);
  });

  test('upstream StopIteration holds the bytes until a later write returns Continue (no continue for Upstream)', async () => {
    // Stops until end of stream (`return !$b`: 1 while eos is 0).
    const { plugin } = await tcp({ upstream_data: ['continue 3', 'get_buffer 3 0 100', 'return !$b'] });
    const c = plugin.connection();
    expect(c.upstreamData('a')).toBe('StopIteration');
    expect(result(plugin, 'upstream_data', 'continue')).toBe(String(WasmResult.Unimplemented));
    expect(c.downstream.data.length).toBe(0);
    expect(c.upstreamData('b', { endOfStream: true })).toBe('Continue');
    expect(results(plugin, 'upstream_data', 'get_buffer')).toEqual(['0 a', '0 ab']);
    expect(c.downstream).toEqual({ data: Buffer.from('ab'), ended: true });
  });

  test('continue_stream(Downstream) is deferred until the callback returns, then continueReading() passes the held bytes on without calling the filter again', async () => {
    const { plugin } = await tcp({ downstream_data: ['continue 2', 'return 1'] });
    const c = plugin.connection();
    expect(c.downstreamData('held')).toBe('StopIteration');
    expect(result(plugin, 'downstream_data', 'continue')).toBe('0');
    expect(c.upstream.data.toString()).toBe('held');
    expect(callbacks(plugin).filter((l) => l.startsWith('downstream_data'))).toHaveLength(1);
  });

  test('held bytes stay readable from a callout: set_effective_context(conn) + continue_stream(Downstream) releases them', async () => {
    const { host, plugin } = await tcp({
      configure: [],
      downstream_data: ['http_call c :method=GET,:path=/,:authority=a x 100', 'return 1'],
      http_call_response: ['set_effective 2', 'get_buffer 2 0 100', 'set_buffer 2 0 0 >', 'continue 2'],
    });
    host.cluster('c');
    const c = plugin.connection();
    c.downstreamData('wait');
    expect(c.upstream.data.length).toBe(0);
    host.pendingCalls.find((p) => p.root.vm.label === 'worker0')!.respond({ status: 200 });
    expect(result(plugin, 'http_call_response', 'get_buffer')).toBe('0 wait');
    expect(c.upstream.data.toString()).toBe('>wait');
  });

  test('outside a held data callback buffer 2/3 is an empty buffer (Ok, size 0; writes Unimplemented); HTTP bodies are NotFound and header maps BadArgument on a connection', async () => {
    const { plugin } = await tcp({
      new_connection: [
        'buffer_status 2',
        'buffer_status 3',
        'set_buffer 2 0 0 x',
        'get_buffer 0 0 10',
        'get_header 0 :path',
      ],
    });
    plugin.connection();
    expect(results(plugin, 'new_connection', 'buffer_status')).toEqual(['0 0 0', '0 0 0']);
    expect(result(plugin, 'new_connection', 'set_buffer')).toBe(String(WasmResult.Unimplemented));
    expect(result(plugin, 'new_connection', 'get_buffer')).toBe(`${WasmResult.NotFound} ptr0`);
    expect(result(plugin, 'new_connection', 'get_header')).toBe(String(WasmResult.BadArgument));
  });

  test('on an HTTP stream buffers 2/3 are empty too (Envoy getBuffer never answers null for them)', async () => {
    const { plugin } = await tcp({ request_headers: ['buffer_status 2', 'get_buffer 3 0 10'] });
    const s = plugin.stream();
    s.requestHeaders({ ':path': '/' }, { endOfStream: true });
    expect(result(plugin, 'request_headers', 'buffer_status')).toBe('0 0 0');
    expect(result(plugin, 'request_headers', 'get_buffer')).toBe('0 ptr0');
  });

  test('send_local_response on a connection is Ok and does nothing (no HTTP decoder callbacks); the status is not overridden', async () => {
    const { plugin } = await tcp({ downstream_data: ['local_reply 403 no denied'] });
    const c = plugin.connection();
    expect(c.downstreamData('x')).toBe('Continue');
    expect(result(plugin, 'downstream_data', 'local_reply')).toBe('0');
    expect(c.upstream.data.toString()).toBe('x');
    expect(c.closed).toBeUndefined();
  });

  test('empty reads without end_stream do not reach the filter (filter manager: length > 0 || end_stream)', async () => {
    const { plugin } = await tcp({});
    const c = plugin.connection();
    expect(c.downstreamData('')).toBe('Skipped');
    expect(callbacks(plugin).filter((l) => l.startsWith('downstream_data'))).toEqual([]);
  });
});

describe('closing from the filter (Context::closeStream for Downstream/Upstream)', () => {
  test('close_stream(Downstream) closes the client connection after the callback (LocalClose ⇒ peer 1, details wasm_downstream_close); that callback’s bytes do not go on', async () => {
    const { plugin } = await tcp({ downstream_data: ['close 2'] });
    const c = plugin.connection();
    expect(c.downstreamData('x')).toBe('Continue');
    expect(c.closed).toEqual({ by: 'local', details: 'wasm_downstream_close' });
    expect(c.upstream.data.length).toBe(0);
    expect(connectionCallbacks(plugin, 2).slice(-4)).toEqual([
      'downstream_close ctx=2 1 0',
      'done ctx=2 0 0',
      'log ctx=2 0 0',
      'delete ctx=2 0 0',
    ]);
  });

  test('close_stream(Upstream) closes the same downstream connection (network_write_filter_callbacks_->connection()), details wasm_upstream_close', async () => {
    const { plugin } = await tcp({ upstream_data: ['close 3'] });
    const c = plugin.connection();
    c.upstreamData('x');
    expect(c.closed).toEqual({ by: 'local', details: 'wasm_upstream_close' });
    expect(callbacks(plugin).filter((l) => l.startsWith('downstream_close'))).toEqual([
      'downstream_close ctx=2 1 0',
    ]);
  });
});

describe('properties on connections (Envoy stream info of the connection)', () => {
  test('source/destination, connection.id and connection_id resolve; request.* does not; set_property is readable back as filter state', async () => {
    const { plugin } = await tcp({
      new_connection: [
        'get_property source%00address',
        'get_property destination%00port',
        'get_property connection_id',
        'get_property request%00path',
        'set_property tenant t1',
        'get_property tenant',
        'get_property plugin_root_id',
      ],
    });
    plugin.connection({ connectionId: 7, properties: { 'source.address': '10.0.0.1:5555' } });
    const hex = (s: string) => Buffer.from(s).toString('hex');
    const u64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUint64LE(BigInt(n));
      return b.toString('hex');
    };
    expect(results(plugin, 'new_connection', 'get_property')).toEqual([
      `0 ${hex('10.0.0.1:5555')}`,
      `0 ${u64(15006)}`,
      `0 ${u64(7)}`,
      String(WasmResult.NotFound),
      `0 ${hex('t1')}`,
      `0 ${hex('ops')}`,
    ]);
    expect(result(plugin, 'new_connection', 'set_property')).toBe('0');
  });
});

describe('failure (CHECK_FAIL_NET; network FilterConfig::createFilter)', () => {
  test('a trap in proxy_on_downstream_data with fail-closed closes the connection (failStream Downstream+Upstream) and reports StopIteration; nothing more reaches the VM', async () => {
    const { plugin } = await tcp({ downstream_data: ['trap'] });
    const c = plugin.connection();
    expect(c.downstreamData('boom')).toBe('StopIteration');
    expect(plugin.vm().failed).toMatch(/proxy_on_downstream_data/);
    expect(c.closed).toEqual({ by: 'local', details: '' });
    expect(c.upstream.data.length).toBe(0);
    expect(callbacks(plugin).filter((l) => /^(downstream_close|done|log|delete) /.test(l))).toEqual([]);
    // New connections on the failed VM are closed at accept, without any VM call.
    const next = plugin.connection();
    expect(next.actions[0]!.status).toBe('StopIteration');
    expect(next.closed).toEqual({ by: 'local', details: '' });
    expect(next.contextId).toBeUndefined();
  });

  test('fail-open: the failing callback lets the bytes through, and later connections bypass the filter', async () => {
    const { plugin } = await tcp({ downstream_data: ['trap'] }, { failurePolicy: 'fail_open' });
    const c = plugin.connection();
    expect(c.downstreamData('boom')).toBe('Continue');
    expect(c.upstream.data.toString()).toBe('boom');
    const next = plugin.connection();
    expect(next.actions[0]!.status).toBe('Skipped');
    next.downstreamData('free');
    next.upstreamData('back', { endOfStream: true });
    expect(next.upstream.data.toString()).toBe('free');
    expect(next.downstream).toEqual({ data: Buffer.from('back'), ended: true });
  });
});

describe('FAIL_RELOAD and config updates', () => {
  test('fail_reload: connections on the failed VM are closed; after the backoff a new connection gets a new VM and root', async () => {
    const { host, plugin } = await tcp(
      { downstream_data: ['trap'] },
      { failurePolicy: 'fail_reload', reloadBackoffMs: 100 },
    );
    plugin.connection().downstreamData('boom');
    expect(plugin.connection().closed).toEqual({ by: 'local', details: '' });
    host.advance(100);
    const fresh = plugin.connection();
    expect(fresh.closed).toBeUndefined();
    expect(fresh.vm.label).toBe('worker0#reload1');
    expect(fresh.actions[0]!.status).toBe('Continue');
  });

  test('a config update: open connections keep their old root, new connections get the new one', async () => {
    const { plugin } = await tcp({});
    const before = plugin.connection();
    plugin.reconfigure('new_connection: log 2 new-config');
    const after = plugin.connection();
    expect(before.ctx!.root.id).not.toBe(after.ctx!.root.id);
    expect(after.ctx!.root.id).toBe(plugin.rootContextId());
    expect(plugin.messages().filter((m) => m.includes('new-config') && !m.includes(' => '))).toEqual([
      'new-config',
    ]);
  });
});

describe('an SDK-only TCP filter (test/sdk/probes/sdk-tcp.ts)', () => {
  async function lines() {
    const host = await ProxyWasmHost.load(TCP_WASM);
    const plugin = await host.createPlugin({ rootId: 'tcp' });
    return { host, plugin };
  }

  test('TcpContext: holds a partial line, upper-cases complete lines, prefixes upstream bytes, logs close peers in order', async () => {
    const { plugin } = await lines();
    const c = plugin.connection({ properties: { 'source.address': '10.1.2.3:4444' } });
    expect(c.downstreamData('hel')).toBe('StopIteration');
    expect(c.downstreamData('lo\n')).toBe('Continue');
    expect(c.upstream.data.toString()).toBe('HELLO\n');
    c.upstreamData('ok\n', { endOfStream: true });
    expect(c.downstream.data.toString()).toBe('> ok\n');
    c.close('remote');
    expect(c.logs.map((l) => l.message)).toEqual([
      'tcp new connection from 10.1.2.3:4444',
      'tcp downstream 3 bytes',
      'tcp downstream 6 bytes',
      'tcp upstream close peer 0',
      'tcp downstream close peer 2',
      'tcp log',
      'tcp delete',
    ]);
    expect(plugin.vm().failed).toBeNull();
  });

  test('an HTTP-only SDK filter (hello-headers) put in a network filter chain drops its HTTP guess, passes the bytes untouched and never traps', async () => {
    const host = await ProxyWasmHost.load(`${ROOT}build/hello-headers.wasm`);
    const plugin = await host.createPlugin({ rootId: 'hello-headers', pluginConfig: 'hi' });
    const c = plugin.connection();
    expect(c.downstreamData('raw bytes')).toBe('Continue');
    expect(c.upstreamData('reply', { endOfStream: true })).toBe('Continue');
    c.close();
    expect(c.upstream.data.toString()).toBe('raw bytes');
    expect(c.downstream).toEqual({ data: Buffer.from('reply'), ended: true });
    expect(plugin.vm().failed).toBeNull();
  });

  test('closeDownstream() from onDownstreamData closes the connection locally; the same root still serves HTTP streams', async () => {
    const { plugin } = await lines();
    const c = plugin.connection();
    c.downstreamData('QUIT\n');
    expect(c.closed).toEqual({ by: 'local', details: 'wasm_downstream_close' });
    const s = plugin.stream();
    expect(s.requestHeaders({ ':path': '/' }, { endOfStream: true })).toBe('Continue');
    s.end();
    expect(plugin.vm().failed).toBeNull();
  });
});
