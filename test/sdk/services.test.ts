// Shared data (CAS), shared queues across worker VMs, metrics, bodies, local reply, close stream,
// set_property, time, foreign functions, ticks and deferred root teardown through the SDK.
// Every routine non-Ok status comes back as a value. Probe: test/sdk/probes/sdk-services.ts.
import { describe, expect, test } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { ProxyWasmHost, WasmResult } from '../host/index.js';

const PROBE = fileURLToPath(new URL('../../build/sdk-probes/sdk-services.wasm', import.meta.url));
const REQUEST = { ':method': 'POST', ':path': '/accounts', ':authority': 'bank' };

async function setup(workers = 1) {
  const host = await ProxyWasmHost.load(PROBE, { startTimeMs: Date.UTC(2026, 0, 2, 3, 4, 5) });
  const p = await host.createPlugin({
    name: 'services',
    rootId: 'services',
    vmConfig: 'vm-config-text',
    workers,
  });
  return { host, p };
}

function headersOnly(p: Awaited<ReturnType<typeof setup>>['p'], request: Record<string, string>, worker = 0) {
  const s = p.stream({ worker });
  s.requestHeaders({ ...REQUEST, ...request }, { endOfStream: true });
  s.responseHeaders({ ':status': '200' }, { endOfStream: true });
  s.end();
  return s.downstream.headers?.toObject() ?? {};
}

describe('shared data', () => {
  test('get of a missing key is NotFound; a write with a stale CAS is CasMismatch — statuses, not traps', async () => {
    const { p } = await setup();
    const out = headersOnly(p, { 'x-cas': 'k1' });
    expect(out['x-r-cas-get']).toBe(String(WasmResult.NotFound));
    expect(out['x-r-cas-set']).toBe(String(WasmResult.Ok));
    expect(out['x-r-cas-value']).toBe('1');
    expect(out['x-r-cas-fresh']).toBe(String(WasmResult.Ok));
    expect(out['x-r-cas-stale']).toBe(String(WasmResult.CasMismatch));
    expect(p.vm().failed).toBeNull();
  });
});

describe('shared queues', () => {
  test('a worker enqueues; the last registrant (the other worker) drains until Empty', async () => {
    const { p } = await setup(2);
    const out = headersOnly(p, { 'x-enqueue': 'item-1' }, 0);
    expect(out['x-r-resolve']).toBe(String(WasmResult.Ok));
    expect(out['x-r-enqueue']).toBe(String(WasmResult.Ok));
    expect(out['x-r-resolve-missing']).toBe(String(WasmResult.NotFound));
    expect(out['x-r-dequeue-bad-id']).toBe(String(WasmResult.NotFound));
    const drained = p.logs.filter((l) => l.message.startsWith('services queue ready'));
    expect(drained.map((l) => [l.vm, l.message.replace(/ready \d+/, 'ready Q')])).toEqual([
      ['worker1', `services queue ready Q items item-1; then status ${WasmResult.Empty}`],
    ]);
  });
});

describe('metrics', () => {
  test('counter, gauge (up and down) and histogram defined in on_configure; get_metric reads the counter', async () => {
    const { host, p } = await setup();
    for (let i = 0; i < 3; i++) {
      const s = p.stream();
      s.requestHeaders(REQUEST);
      s.requestBody('x'.repeat(10 * (i + 1)), { endOfStream: true });
      s.responseHeaders({ ':status': '200' }, { endOfStream: true });
      expect(s.downstream.headers?.get('x-r-requests')?.toString()).toBe(String(i + 1));
      s.end();
    }
    expect(host.metrics.get('sdk_services.requests')).toBe(3);
    expect(host.metrics.get('sdk_services.in_flight')).toBe(0);
    expect(host.metrics.histogram('sdk_services.request_bytes')).toEqual([10, 20, 30]);
  });
});

describe('bodies', () => {
  test('the buffered request body is read whole, then appended and prepended; the response body replaced', async () => {
    const { p } = await setup();
    const s = p.stream();
    s.requestHeaders(REQUEST);
    expect(s.requestBody('hello ')).toBe('StopIterationAndBuffer');
    expect(s.requestBody('world', { endOfStream: true })).toBe('Continue');
    expect(s.upstream.body.toString()).toBe('prepended+hello world+appended');
    s.responseHeaders({ ':status': '200', 'content-length': '8' });
    s.responseBody('original', { endOfStream: true });
    const out = s.downstream.headers!.toObject();
    expect(out['x-r-request-body']).toBe('hello world');
    expect(out['x-r-request-body-size']).toBe('11');
    expect(out['content-length']).toBeUndefined();
    expect(s.downstream.body.toString()).toBe('replaced by probe');
  });
});

describe('stream control and misc host calls', () => {
  test('send_local_response answers the client without reaching the upstream', async () => {
    const { p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-deny': '1' }, { endOfStream: true });
    expect(s.upstream.headers).toBeUndefined();
    expect(s.localReply).toMatchObject({
      status: 403,
      body: 'denied',
      details: 'denied_by_probe',
      byEnvoy: false,
    });
    expect(s.localReply?.headers['x-denied']).toBe('yes');
  });

  test('close_stream resets the request', async () => {
    const { p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-close': '1' }, { endOfStream: true });
    expect(s.upstream.headers).toBeUndefined();
    expect(s.resetReason).toBe('wasm_close_stream');
  });

  test('set_property then get_property round-trips through filter state; time is the host wall clock; an unknown foreign function is NotFound', async () => {
    const { p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-foreign': 'no_such_function' }, { endOfStream: true });
    s.responseHeaders({ ':status': '200' }, { endOfStream: true });
    const out = s.downstream.headers!.toObject();
    expect(out['x-r-set-property']).toBe(String(WasmResult.Ok));
    expect(out['x-r-get-property']).toBe('v');
    expect(out['x-r-time-ms']).toBe(String(Date.UTC(2026, 0, 2, 3, 4, 5)));
    expect(out['x-r-foreign']).toBe(String(WasmResult.NotFound));
  });

  test('vm configuration is readable in on_vm_start', async () => {
    const { p } = await setup();
    expect(p.messages('info')).toContain('services vm_start config vm-config-text');
  });
});

describe('abort', () => {
  test('a throw in filter code goes to sdk_abort: logged at critical with message and place, then the VM traps', async () => {
    const { p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-throw': '1' }, { endOfStream: true });
    expect(p.vm().failed).not.toBeNull();
    expect(p.messages('critical')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^wasm abort: probe asked to throw at test\/sdk\/probes\/sdk-services\.ts:\d+:\d+$/,
        ),
      ]),
    );
    expect(s.localReply).toMatchObject({ status: 503, byEnvoy: true }); // fail_closed (default policy)
  });
});

describe('root lifecycle', () => {
  test('ticks reach the root; on_done=false defers teardown until the root calls proxy_done', async () => {
    const { host, p } = await setup();
    host.advance(350);
    expect(host.metrics.get('sdk_services.ticks')).toBe(3);
    p.shutdown();
    expect(p.messages('info')).toContain('services root on_done: finishing later');
    expect(p.messages('info')).not.toContain('services root on_delete');
    host.advance(100);
    expect(p.messages('info')).toEqual(
      expect.arrayContaining([`services root finishing: done() ${WasmResult.Ok}`, 'services root on_delete']),
    );
  });
});
