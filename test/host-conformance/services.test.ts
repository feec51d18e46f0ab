// Shared data, shared queues, metrics, ticks, logging (reference §2.10, §2.11, §2.14, §2.15;
// checklist §2.16 points 11 and 12).
import { describe, expect, test } from '@jest/globals';
import { ProxyWasmHost } from '../host/index.js';
import { callbacks, OPS_WASM, opsPlugin, result, results, script } from './support.js';

const REQ = { ':method': 'GET', ':path': '/', ':authority': 'svc' };

describe('shared data', () => {
  test('§2.11 shared data is process-wide per vm_id: a write from worker 0 is read by worker 1', async () => {
    const { plugin } = await opsPlugin(
      { request_headers: ['set_shared k v1 0', 'get_shared k'] },
      { workers: 2, vmId: 'vmA' },
    );
    plugin.stream({ worker: 0 }).requestHeaders(REQ);
    const before = results(plugin, 'request_headers', 'get_shared').length;
    plugin.stream({ worker: 1 }).requestHeaders(REQ);
    expect(results(plugin, 'request_headers', 'get_shared').slice(before - 1)).toHaveLength(2);
    expect(plugin.host.shared.getData('vmA', 'k')?.value.toString()).toBe('v1');
  });

  test('§2.11 missing key ⇒ NotFound; CAS mismatch ⇒ CasMismatch (8); matching CAS ⇒ Ok', async () => {
    const { plugin } = await opsPlugin({
      request_headers: [
        'get_shared nokey',
        'set_shared k a 0',
        'get_shared k',
        'set_shared k b $',
        'set_shared k c 1',
      ],
    });
    plugin.stream().requestHeaders(REQ);
    const r = (op: string) => result(plugin, 'request_headers', op);
    expect(r('get_shared nokey')).toBe('1');
    expect(r('get_shared k')).toMatch(/^0 a \d+$/);
    expect(r('set_shared k b $')).toBe('0');
    expect(r('set_shared k c 1')).toBe('8');
  });

  test('§2.11 another vm_id does not see the data', async () => {
    const host = await ProxyWasmHost.load(OPS_WASM);
    await host.createPlugin({
      rootId: 'ops',
      vmId: 'one',
      pluginConfig: script({ configure: ['set_shared k v 0'] }),
    });
    const b = await host.createPlugin({
      rootId: 'ops',
      vmId: 'two',
      pluginConfig: script({ configure: ['get_shared k'] }),
    });
    expect(result(b, 'configure', 'get_shared k')).toBe('1');
  });
});

describe('shared queues', () => {
  test('§2.11 the LAST registrant receives one on_queue_ready per item; resolve from another worker and enqueue', async () => {
    // Worker VMs register in order (canary, worker0, worker1): worker1 is the last registrant.
    const { plugin } = await opsPlugin(
      {
        configure: ['register_queue events'],
        request_headers: ['resolve_queue  events', 'enqueue $ e1', 'enqueue $ e2'],
        queue_ready: ['dequeue $'],
      },
      { workers: 2, vmId: 'q' },
    );
    plugin.stream({ worker: 0 }).requestHeaders(REQ);
    const ready = plugin.logs.filter((l) => l.message.startsWith('@queue_ready'));
    expect(ready.map((l) => l.vm)).toEqual(['worker1', 'worker1']);
    expect(results(plugin, 'queue_ready', 'dequeue')).toEqual(['0 e1', '0 e2']);
  });

  test('§2.10 notifications are not re-entrant: on_queue_ready runs after the enqueuing callback has returned', async () => {
    const { plugin } = await opsPlugin({
      configure: ['register_queue q'],
      request_headers: ['resolve_queue  q', 'enqueue $ x', 'log 2 enqueue-returned'],
    });
    plugin.stream().requestHeaders(REQ);
    const order = plugin.logs
      .filter(
        (l) =>
          l.vm === 'worker0' && (l.message === 'enqueue-returned' || l.message.startsWith('@queue_ready')),
      )
      .map((l) => l.message.split(' ')[0]);
    expect(order).toEqual(['enqueue-returned', '@queue_ready']);
  });

  test('§2.11 dequeue on an empty queue ⇒ Empty (7); unknown queue id ⇒ NotFound; unknown name ⇒ NotFound', async () => {
    const { plugin } = await opsPlugin({
      configure: ['register_queue qq', 'dequeue $', 'dequeue 999', 'enqueue 999 x', 'resolve_queue  nope'],
    });
    const r = (op: string) => result(plugin, 'configure', op);
    expect([r('dequeue $'), r('dequeue 999'), r('enqueue 999'), r('resolve_queue  nope')]).toEqual([
      '7',
      '1',
      '1',
      '1 0',
    ]);
  });

  test("§2.11 queues are scoped by vm_id: resolve with an explicit vm_id finds another VM group's queue", async () => {
    const host = await ProxyWasmHost.load(OPS_WASM);
    await host.createPlugin({
      rootId: 'ops',
      vmId: 'singleton',
      pluginConfig: script({ configure: ['register_queue work'] }),
    });
    const w = await host.createPlugin({
      rootId: 'ops',
      vmId: 'workers',
      pluginConfig: script({ configure: ['resolve_queue  work', 'resolve_queue singleton work'] }),
    });
    expect(result(w, 'configure', 'resolve_queue  work')).toBe('1 0');
    expect(result(w, 'configure', 'resolve_queue singleton work')).toMatch(/^0 [1-9]/);
  });
});

describe('metrics', () => {
  test('§2.14 metric ids encode the type in the low 2 bits (counters 4,8 …; gauges 5,9 …; histograms 6,10 …); bad type ⇒ BadArgument', async () => {
    const { plugin } = await opsPlugin({
      configure: [
        'define_metric 0 c1',
        'define_metric 0 c2',
        'define_metric 1 g1',
        'define_metric 2 h1',
        'define_metric 3 x',
      ],
    });
    const w0 = plugin.logs
      .filter((l) => l.vm === 'worker0' && l.message.startsWith('configure define_metric'))
      .map((l) => l.message.split('=> ')[1]);
    expect(w0).toEqual(['0 4', '0 8', '0 5', '0 6', '2 0']);
  });

  test('§2.14 counter increments must be > 0; gauges add and subtract; record: counter adds, gauge sets, histogram records', async () => {
    const { host } = await opsPlugin(
      {
        configure: [
          'define_metric 0 reqs',
          'increment_metric $ 0',
          'increment_metric $ -1',
          'increment_metric $ 2',
          'record_metric $ 3',
          'get_metric $',
          'define_metric 1 inflight',
          'increment_metric $ 5',
          'increment_metric $ -2',
          'record_metric $ 40',
          'get_metric $',
          'define_metric 2 lat',
          'record_metric $ 7',
          'get_metric $',
          'increment_metric $ 1',
          'get_metric 100',
          'record_metric 100 1',
          'get_metric 103',
        ],
      },
      { workers: 1 },
    );
    const plugin = host.plugins[0]!;
    const w = plugin.logs
      .filter((l) => l.vm === 'worker0' && l.message.startsWith('configure '))
      .map((l) => l.message.replace(/^configure /, ''));
    expect(
      w.filter(
        (m) =>
          m.startsWith('increment_metric') || m.startsWith('get_metric') || m.startsWith('record_metric'),
      ),
    ).toEqual([
      'increment_metric $ 0 => 2',
      'increment_metric $ -1 => 2',
      'increment_metric $ 2 => 0',
      'record_metric $ 3 => 0',
      'get_metric $ => 0 10', // canary (2+3) + worker0 (2+3): one stat shared by every VM
      'increment_metric $ 5 => 0',
      'increment_metric $ -2 => 0',
      'record_metric $ 40 => 0',
      'get_metric $ => 0 40',
      'record_metric $ 7 => 0',
      'get_metric $ => 2 0',
      'increment_metric $ 1 => 2',
      'get_metric 100 => 1 0',
      'record_metric 100 1 => 1',
      'get_metric 103 => 2 0',
    ]);
    expect(host.metrics.get('wasmcustom.reqs')).toBe(10);
    expect(host.metrics.get('inflight')).toBe(40);
    expect(host.metrics.histogram('lat')).toEqual([7, 7]);
    expect(host.metrics.typeOf('lat')).toBe('histogram');
  });

  test('§2.14 the same metric name from every worker VM aggregates into one Envoy stat', async () => {
    const { host, plugin } = await opsPlugin(
      { configure: ['define_metric 0 hits'], request_headers: ['increment_metric 4 1'] },
      { workers: 3 },
    );
    for (const worker of [0, 1, 2, 2]) plugin.stream({ worker }).requestHeaders(REQ);
    expect(host.metrics.get('hits')).toBe(4);
    expect(host.metrics.all()).toEqual({ 'wasmcustom.hits': 4 });
    expect(host.metrics.prometheusNames()).toEqual(['hits']);
  });
});

describe('ticks, time, logging', () => {
  test('§2.10 one timer per root per VM: with 2 workers on_tick fires twice per period, re-armed after each tick', async () => {
    const { host, plugin } = await opsPlugin({ configure: ['set_tick 100'] }, { workers: 2 });
    host.advance(99);
    expect(plugin.logs.filter((l) => l.message.startsWith('@tick'))).toHaveLength(0);
    host.advance(201);
    expect(plugin.logs.filter((l) => l.message.startsWith('@tick')).map((l) => l.vm)).toEqual([
      'worker0',
      'worker1',
      'worker0',
      'worker1',
      'worker0',
      'worker1',
    ]);
  });

  test('§2.10 a tick period set from a stream applies to its root; period 0 disables', async () => {
    const { host, plugin } = await opsPlugin({ request_headers: ['set_tick 10'], tick: ['set_tick 0'] });
    plugin.stream().requestHeaders(REQ);
    host.advance(100);
    expect(callbacks(plugin).filter((c) => c.startsWith('tick'))).toEqual(['tick ctx=1 0 0']);
  });

  test('§1.3 get_current_time_nanoseconds is the host wall clock', async () => {
    const { host, plugin } = await opsPlugin(
      { configure: ['set_tick 5'], tick: ['get_time'] },
      { host: { startTimeMs: 1_000 } },
    );
    host.advance(5);
    expect(result(plugin, 'tick', 'get_time')).toBe(`0 ${1_005_000_000}`);
  });

  test('§2.15 get_log_level returns the wasm logger level; lines below it are dropped; level > 5 is BadArgument', async () => {
    const { plugin } = await opsPlugin(
      { configure: ['get_log_level', 'log 1 debug-line', 'log 3 warn-line', 'log 6 x'] },
      { host: { logLevel: 'warn' } },
    );
    expect(result(plugin, 'configure', 'get_log_level')).toBe('0 3');
    expect(plugin.messages().filter((m) => m.endsWith('-line'))).toEqual(['warn-line', 'warn-line']);
    expect(result(plugin, 'configure', 'log 6')).toBe('2');
    expect(plugin.logs[0]?.prefix).toBe('wasm log plugin ops : ');
  });
});
