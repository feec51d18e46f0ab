// Load-time rules (reference §1.1, §1.3, §1.6, §2.1, checklist §2.16 point 1) and the WASI subset.
import { describe, expect, test } from '@jest/globals';
import { ProxyWasmHost, WasmLoadError } from '../host/index.js';
import { minimalModule, opsPlugin, result, wat } from './support.js';

const load = (text: string) => ProxyWasmHost.load(wat(text));

describe('module loading', () => {
  test('§1.6 a module with the 0.2.1 marker and an allocator loads', async () => {
    const host = await load(minimalModule());
    expect(host.abi).toBe('proxy_abi_version_0_2_1');
  });

  test('§1.6 no ABI marker ⇒ "Missing or unknown Proxy-Wasm ABI version"', async () => {
    await expect(load(minimalModule('', { marker: 'not_a_marker' }))).rejects.toThrow(
      /Missing or unknown Proxy-Wasm ABI version/,
    );
  });

  test('§1.6 the FIRST marker export decides the version (0.1.0 first ⇒ refused as 0.1.0)', async () => {
    const text = minimalModule('(func (export "proxy_abi_version_0_1_0"))');
    await expect(load(text)).rejects.toThrow(
      /proxy_abi_version_0_1_0; this test host implements ABI 0.2.1 only/,
    );
  });

  test('§1.3 an import Envoy does not provide fails the load (env.abort, as AssemblyScript emits by default)', async () => {
    const text = minimalModule('(import "env" "abort" (func (param i32 i32 i32 i32)))');
    const err = await load(text).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WasmLoadError);
    expect(String(err)).toMatch(/import env\.abort: .*missing import .*--use abort=/);
  });

  test('§1.6 importing a function of another ABI version (0.1.0 proxy_get_configuration) fails the load', async () => {
    const text = minimalModule(
      '(import "env" "proxy_get_configuration" (func (param i32 i32) (result i32)))',
    );
    await expect(load(text)).rejects.toThrow(/env\.proxy_get_configuration: .*missing import/);
  });

  test('§1.1 imported globals are rejected', async () => {
    await expect(load(minimalModule('(import "env" "g" (global i32))'))).rejects.toThrow(
      /imported globals are rejected/,
    );
  });

  test('§1.3 an import with the wrong signature fails the link', async () => {
    const text = minimalModule('(import "env" "proxy_log" (func (param i32 i32) (result i32)))');
    await expect(load(text)).rejects.toThrow(
      /env\.proxy_log: signature ii:i does not match the host's iii:i/,
    );
  });

  test('§1.2 an export with a wrong signature ⇒ "Bad function signature for: proxy_on_request_headers"', async () => {
    const text = minimalModule(
      '(func (export "proxy_on_request_headers") (param i32 i32) (result i32) i32.const 0)',
    );
    await expect(load(text)).rejects.toThrow(/Bad function signature for: proxy_on_request_headers/);
  });

  test('§1.1 no malloc and no proxy_on_memory_allocate ⇒ "missing malloc function"', async () => {
    await expect(load(minimalModule('', { malloc: '' }))).rejects.toThrow(/missing malloc function/);
  });

  test('§1.1 proxy_on_memory_allocate is accepted as the allocator', async () => {
    const host = await load(
      minimalModule('', {
        malloc: '(func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 1024)',
      }),
    );
    expect(host.exportNames).toContain('proxy_on_memory_allocate');
  });

  test('§1.3 the WASI subset is provided under both wasi_snapshot_preview1 and wasi_unstable', async () => {
    const text = minimalModule(
      '(import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32))) (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))',
    );
    await expect(load(text)).resolves.toBeInstanceOf(ProxyWasmHost);
  });

  test('§1.3 a WASI function Envoy does not implement (path_open) fails the load', async () => {
    const text = minimalModule(
      '(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))',
    );
    await expect(load(text)).rejects.toThrow(/path_open: .*missing import/);
  });
});

describe('restricted windows and WASI behaviour', () => {
  test('§2.1 a hostcall other than logging during _initialize traps ("restricted_callback") and the plugin is rejected', async () => {
    const text = `(module
      (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) i32.const 1024)
      (func (export "_initialize") (drop (call $tick (i32.const 10)))))`;
    const host = await load(text);
    const err = await host.createPlugin().catch((e: Error) => e);
    expect(String(err)).toMatch(
      /rejected: VM failed: _initialize: restricted_callback: proxy_set_tick_period_milliseconds/,
    );
  });

  test('§1.3 proxy_log is allowed during _initialize', async () => {
    const text = `(module
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 16) "init")
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) i32.const 1024)
      (func (export "_initialize") (drop (call $log (i32.const 2) (i32.const 16) (i32.const 4)))))`;
    const host = await load(text);
    const plugin = await host.createPlugin({ workers: 2 });
    expect(plugin.logs.map((l) => `${l.vm}:${l.message}`)).toEqual([
      'canary:init',
      'worker0:init',
      'worker1:init',
    ]);
  });

  test('§1.3 WASI fd_write goes to the log (fd 1 info, fd 2 error, newline stripped); other fds are EBADF', async () => {
    const { plugin } = await opsPlugin({
      configure: ['wasi_write 1 out%0a', 'wasi_write 2 err', 'wasi_write 3 x'],
    });
    expect(
      plugin.logs
        .filter((l) => l.vm === 'worker0' && /^(out|err)$/.test(l.message))
        .map((l) => `${l.level}:${l.message}`),
    ).toEqual(['info:out', 'error:err']);
    expect(result(plugin, 'configure', 'wasi_write 3')).toBe('8 0');
  });

  test('§1.3 WASI clock_time_get realtime = host wall clock, monotonic moves with host.advance; bad clock id ⇒ ENOTSUP', async () => {
    const { host, plugin } = await opsPlugin(
      { tick: ['wasi_clock 0', 'wasi_clock 1', 'wasi_clock 9'], configure: ['set_tick 10'] },
      { host: { startTimeMs: 1_700_000_000_000 } },
    );
    host.advance(10);
    expect(result(plugin, 'tick', 'wasi_clock 0')).toBe(`0 ${1_700_000_000_010n * 1_000_000n}`);
    expect(result(plugin, 'tick', 'wasi_clock 1')).toBe(`0 ${10_000_000}`);
    expect(result(plugin, 'tick', 'wasi_clock 9')).toMatch(/^58 /);
  });

  test('§1.3 WASI environ comes from vm_config env vars; args are empty; random_get > 64 KiB ⇒ EINVAL; fd_read errno', async () => {
    const { plugin } = await opsPlugin(
      { configure: ['wasi_environ', 'wasi_args', 'wasi_random 16', 'wasi_random 70000', 'wasi_read'] },
      { env: { A: '1', B: 'two' } },
    );
    expect(result(plugin, 'configure', 'wasi_environ')).toBe('0 0 2 A=1;B=two;');
    expect(result(plugin, 'configure', 'wasi_args')).toBe('0 0');
    expect(result(plugin, 'configure', 'wasi_random 16')).toBe('0');
    expect(result(plugin, 'configure', 'wasi_random 70000')).toBe('28');
    expect(result(plugin, 'configure', 'wasi_read')).toBe('52');
  });

  test('§1.3 WASI proc_exit logs an error and returns (the VM keeps running)', async () => {
    const { plugin } = await opsPlugin({ configure: ['wasi_exit 3', 'log 2 still-alive'] });
    expect(result(plugin, 'configure', 'wasi_exit')).toBe('returned');
    expect(plugin.messages('error').some((m) => m.includes('proc_exit (code 3)'))).toBe(true);
    expect(plugin.vm().failed).toBeNull();
  });
});

describe('allocator and memory', () => {
  test('§1.1 malloc returning 0 ⇒ the hostcall answers InvalidMemoryAccess (6)', async () => {
    const text = `(module
      (import "env" "proxy_get_property" (func $gp (param i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 16) "plugin_name")
      (global $st (mut i32) (i32.const 99))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) i32.const 0)
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (global.set $st (call $gp (i32.const 16) (i32.const 11) (i32.const 64) (i32.const 68)))
        ;; log the status as one digit at address 100
        (i32.store8 (i32.const 100) (i32.add (i32.const 48) (global.get $st)))
        (drop (call $log (i32.const 2) (i32.const 100) (i32.const 1)))
        i32.const 1))`;
    const host = await load(text);
    const plugin = await host.createPlugin({ name: 'p' });
    expect(plugin.logs.find((l) => l.vm === 'worker0')?.message).toBe('6');
  });

  test('§1.1 empty outputs are ptr 0 / len 0 and the allocator is not called', async () => {
    const { host, plugin } = await opsPlugin(
      { request_headers: ['get_pairs 3', 'get_buffer 6 0 10'] },
      { host: { trace: true } },
    );
    const s = plugin.stream();
    const before = host.trace.length;
    s.requestHeaders({ ':path': '/' });
    expect(result(plugin, 'request_headers', 'get_pairs 3')).toBe('0 ptr0');
    expect(result(plugin, 'request_headers', 'get_buffer 6')).toBe('0 ptr0');
    expect(host.trace.slice(before).filter((t) => t.fn === 'malloc')).toEqual([]);
  });

  test('§2.16 memory views are re-acquired after the allocator grew memory (a 300 KB header value)', async () => {
    const { plugin } = await opsPlugin({
      request_headers: ['memory_pages', 'get_header_size 0 x-big', 'memory_pages'],
    });
    plugin.stream().requestHeaders({ ':path': '/', 'x-big': 'a'.repeat(299_999) + 'z' });
    const [before, after] = [
      result(plugin, 'request_headers', 'memory_pages', 0),
      result(plugin, 'request_headers', 'memory_pages', 1),
    ].map(Number);
    expect(after!).toBeGreaterThan(before!);
    expect(result(plugin, 'request_headers', 'get_header_size')).toBe('0 300000 z');
  });

  test("§2.1 inside the host's call to malloc only logging/clock hostcalls are allowed: anything else traps the VM", async () => {
    const text = `(module
      (import "env" "proxy_get_property" (func $gp (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 16) "plugin_name")
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32)
        (drop (call $gp (i32.const 16) (i32.const 11) (i32.const 64) (i32.const 68))) i32.const 1024)
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (drop (call $gp (i32.const 16) (i32.const 11) (i32.const 64) (i32.const 68))) i32.const 1))`;
    const host = await load(text);
    await expect(host.createPlugin({ name: 'p' })).rejects.toThrow(
      /restricted_callback: proxy_get_property is not allowed inside the allocator/,
    );
  });

  test('§2.1 a trap inside the allocator (re-entered from a hostcall) fails the VM, never the Node process', async () => {
    const text = `(module
      (import "env" "proxy_get_property" (func $gp (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 16) "plugin_name")
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) unreachable)
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (drop (call $gp (i32.const 16) (i32.const 11) (i32.const 64) (i32.const 68))) i32.const 1))`;
    const host = await load(text);
    await expect(host.createPlugin({ name: 'p' })).rejects.toThrow(
      /VM failed: proxy_on_configure: .*unreachable/,
    );
  });

  test('§2.16 i64 parameters arrive as BigInt (increment_metric with a delta above 2^32)', async () => {
    const { host } = await opsPlugin({ configure: ['define_metric 0 big', 'increment_metric $ 5000000000'] });
    expect(host.metrics.get('big')).toBe(2 * 5_000_000_000); // canary + worker share the stat
  });
});
