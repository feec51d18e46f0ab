// A trap fails the VM; what happens next is the plugin's failure policy (reference §2.1, §2.12,
// checklist §2.16 point 5). A trapping filter never crashes the Node process.
import { describe, expect, test } from '@jest/globals';
import { PluginRejectedError } from '../host/index.js';
import { callbacks, opsPlugin } from './support.js';

const REQ = { ':method': 'GET', ':path': '/', ':authority': 'svc' };
const TRAP_ON_HEADERS = { request_headers: ['trap'] };

describe('traps and failure policies', () => {
  test('§2.12 a trap marks the worker VM failed; fail_closed answers 503 "wasm_fail_stream" (gRPC Unavailable)', async () => {
    const { plugin } = await opsPlugin(TRAP_ON_HEADERS, { failurePolicy: 'fail_closed' });
    const s = plugin.stream();
    expect(s.requestHeaders(REQ)).toBe('StopAllIterationAndWatermark');
    expect(plugin.vm(0).failed).toMatch(/proxy_on_request_headers/);
    expect(s.localReply).toMatchObject({
      status: 503,
      details: 'wasm_fail_stream',
      grpcStatus: 14,
      byEnvoy: true,
    });
    expect(s.upstream.headers).toBeUndefined();
    expect(plugin.messages('critical').some((m) => m.startsWith('wasm VM failed'))).toBe(true);
  });

  test('§2.12 fail_closed is sticky: every later stream on that worker gets 503, other workers still run', async () => {
    const { plugin } = await opsPlugin(
      { request_headers: ['get_header 0 x-trap', 'return 0'] },
      { workers: 2 },
    );
    plugin.vm(0).fail('forced by the test');
    const a = plugin.stream({ worker: 0 });
    a.requestHeaders(REQ);
    const b = plugin.stream({ worker: 1 });
    b.requestHeaders(REQ);
    expect(a.localReply?.status).toBe(503);
    expect(b.localReply).toBeUndefined();
    expect(b.upstream.headers?.get(':path')?.toString()).toBe('/');
  });

  test("§2.12 after the wasm-failure reply the filter's response callbacks and on_log are not called", async () => {
    const { plugin } = await opsPlugin(TRAP_ON_HEADERS);
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.end();
    expect(callbacks(plugin).map((c) => c.split(' ')[0])).not.toContain('response_headers');
    expect(callbacks(plugin).map((c) => c.split(' ')[0])).not.toContain('log');
  });

  test('§2.12 fail_open: the trapping request passes through and later streams bypass the filter', async () => {
    const { plugin } = await opsPlugin(TRAP_ON_HEADERS, { failurePolicy: 'fail_open' });
    const s = plugin.stream();
    expect(s.requestHeaders(REQ, { endOfStream: true })).toBe('Continue');
    expect(s.localReply).toBeUndefined();
    expect(s.upstream.headers?.get(':path')?.toString()).toBe('/');
    const before = callbacks(plugin).length;
    const next = plugin.stream();
    next.requestHeaders(REQ, { endOfStream: true });
    next.responseHeaders({ ':status': '200' }, { endOfStream: true });
    next.end();
    expect(callbacks(plugin).length).toBe(before);
    expect(next.downstream.headers?.get(':status')?.toString()).toBe('200');
  });

  test('§2.12 fail_reload: the failing stream gets 503; after the backoff a NEW VM serves new streams', async () => {
    const { host, plugin } = await opsPlugin(
      { request_headers: ['get_header 0 x-ok'] },
      { failurePolicy: 'fail_reload', reloadBackoffMs: 1000 },
    );
    const failing = plugin.vm(0);
    failing.fail('forced by the test');
    expect(plugin.stream().requestHeaders(REQ)).toBe('StopAllIterationAndWatermark');
    host.advance(999);
    expect(plugin.stream().requestHeaders(REQ)).toBe('StopAllIterationAndWatermark');
    host.advance(1);
    const s = plugin.stream();
    expect(s.requestHeaders(REQ)).toBe('Continue');
    expect(plugin.vm(0)).not.toBe(failing);
    expect(plugin.vm(0).label).toBe('worker0#reload1');
    expect(plugin.logs.some((l) => l.vm === 'worker0#reload1' && l.message.startsWith('@configure'))).toBe(
      true,
    );
  });

  test('§2.1 traps in root callbacks (tick) fail the VM without throwing into the test', async () => {
    const { host, plugin } = await opsPlugin({ configure: ['set_tick 10'], tick: ['trap'] });
    expect(() => host.advance(50)).not.toThrow();
    expect(plugin.vm(0).failed).toMatch(/proxy_on_tick/);
    expect(callbacks(plugin).filter((c) => c.startsWith('tick'))).toHaveLength(1);
  });

  test('§2.1 a trap in on_configure rejects the plugin', async () => {
    await expect(opsPlugin({ configure: ['trap'] })).rejects.toThrow(PluginRejectedError);
  });
});
