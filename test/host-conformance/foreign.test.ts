// Foreign functions (proxy_call_foreign_function ⇄ Envoy's extensions/common/wasm/foreign.cc),
// proxy_on_foreign_function and proxy_validate_configuration: what Envoy does and does not drive.
import { describe, expect, test } from '@jest/globals';
import { deflateSync } from 'node:zlib';
import { WasmResult } from '../host/index.js';
import { opsPlugin, result } from './support.js';

const hex = (b: Uint8Array | string) => Buffer.from(b).toString('hex');
/** Percent-encodes bytes for a probe script argument. */
const arg = (b: Buffer) => [...b].map((x) => '%' + x.toString(16).padStart(2, '0')).join('');

describe('proxy_call_foreign_function', () => {
  test('"compress" answers zlib compress() output (Envoy registerCompressForeignFunction)', async () => {
    const { plugin } = await opsPlugin({ configure: ['foreign compress hello%20hello%20hello'] });
    expect(result(plugin, 'configure', 'foreign')).toBe(`0 ${hex(deflateSync('hello hello hello'))}`);
  });

  test('"uncompress" inverts it; bytes that are not zlib data ⇒ SerializationFailure (3)', async () => {
    const packed = arg(deflateSync('event payload'));
    const { plugin } = await opsPlugin({
      configure: [`foreign uncompress ${packed}`, 'foreign uncompress not-zlib'],
    });
    expect(result(plugin, 'configure', 'foreign uncompress %')).toBe(`0 ${hex('event payload')}`);
    expect(result(plugin, 'configure', 'foreign uncompress not-zlib')).toBe(
      String(WasmResult.SerializationFailure),
    );
  });

  test('an unknown name ⇒ NotFound (1); a name Envoy registers but this host does not model (declare_property) answers NotFound too', async () => {
    const { plugin } = await opsPlugin({
      configure: ['foreign no_such_function', 'foreign declare_property'],
    });
    expect(result(plugin, 'configure', 'foreign no_such_function')).toBe(String(WasmResult.NotFound));
    expect(result(plugin, 'configure', 'foreign declare_property')).toBe(String(WasmResult.NotFound));
  });
});

describe('exports Envoy never drives', () => {
  test('Envoy never calls proxy_validate_configuration: plugin start, a config update and shutdown leave it uncalled', async () => {
    const { host, plugin } = await opsPlugin({}, { host: { trace: true }, workers: 2 });
    plugin.reconfigure('configure: log 2 again');
    plugin.connection().close();
    plugin.shutdown();
    expect(host.trace.filter((t) => t.fn === 'proxy_validate_configuration')).toEqual([]);
    expect(host.trace.some((t) => t.fn === 'proxy_on_configure')).toBe(true);
  });

  test('plugin.validateConfiguration() models Context::validateConfiguration: the candidate is readable as PluginConfiguration (7); the module’s false is the answer', async () => {
    const { host, plugin } = await opsPlugin({
      validate: ['get_buffer 7 0 100', 'return 0'],
      configure: ['set_tick 10'],
      tick: ['get_buffer 7 0 100'],
    });
    expect(plugin.validateConfiguration('candidate-config')).toBe(false);
    expect(result(plugin, 'validate', 'get_buffer')).toBe('0 candidate-config');
    // Afterwards PluginConfiguration is NotFound again (only on_configure and validation read it).
    host.advance(10);
    expect(result(plugin, 'tick', 'get_buffer')).toBe(`${WasmResult.NotFound} ptr0`);
  });

  test('plugin.validateConfiguration() is true when the module returns true (the SDK default)', async () => {
    const { plugin } = await opsPlugin({});
    expect(plugin.validateConfiguration({ any: 'thing' })).toBe(true);
  });

  test('plugin.foreignFunction() models cpp-host ContextBase::onForeignFunction: proxy_on_foreign_function(root, id, size) with the arguments as buffer 8', async () => {
    const { plugin } = await opsPlugin({ foreign_function: ['get_buffer 8 0 100', 'buffer_status 8'] });
    plugin.foreignFunction(3, 'args!');
    expect(result(plugin, 'foreign_function', 'get_buffer')).toBe('0 args!');
    expect(plugin.messages().filter((m) => m.startsWith('@foreign_function'))).toEqual([
      '@foreign_function ctx=1 3 5',
    ]);
  });
});
