// Helpers for the host conformance suite: the scripted probe (build/probes/abi-ops.wasm) and
// small hand-written modules (WAT assembled by binaryen) for load-time rules.
import binaryen from 'assemblyscript/binaryen';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProxyWasmHost, type HostOptions, type Plugin, type PluginOptions } from '../host/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const OPS_WASM = `${ROOT}build/probes/abi-ops.wasm`;

if (!existsSync(OPS_WASM))
  throw new Error(`${OPS_WASM} is missing: run \`npm run build:wasm\` (npm test does it first)`);

/** Scripts per callback: { request_headers: ['get_header 0 :path', 'return 1'] }. */
export type Scripts = Record<string, string[]>;

export function script(s: Scripts): string {
  return Object.entries(s)
    .map(([cb, ops]) => `${cb}: ${ops.join('; ')}`)
    .join('\n');
}

/** Loads the ops probe and creates a plugin (root_id "ops") running `scripts`. */
export async function opsPlugin(
  scripts: Scripts,
  opts: PluginOptions & { host?: HostOptions; vmScripts?: Scripts } = {},
): Promise<{ host: ProxyWasmHost; plugin: Plugin }> {
  const host = await ProxyWasmHost.load(OPS_WASM, opts.host);
  const plugin = await host.createPlugin({
    rootId: 'ops',
    ...opts,
    pluginConfig: script(scripts),
    vmConfig: opts.vmScripts ? script(opts.vmScripts) : opts.vmConfig,
  });
  return { host, plugin };
}

/** Result strings of `<cb> <op…> => <result>` lines, in order (op = the op line's beginning). */
export function results(plugin: Plugin, cb: string, op: string): string[] {
  const prefix = `${cb} ${op}`;
  return plugin.logs
    .filter((l) => l.message.startsWith(prefix) && l.message.includes(' => '))
    .map((l) => l.message.slice(l.message.indexOf(' => ') + 4));
}

/** The single result of an op; fails with the plugin's logs when absent. */
export function result(plugin: Plugin, cb: string, op: string, index = 0): string {
  const r = results(plugin, cb, op)[index];
  if (r === undefined)
    throw new Error(
      `no result for "${cb} ${op}" #${index}; plugin logs:\n${plugin.logs.map((l) => `  ${l.vm} ${l.message}`).join('\n')}`,
    );
  return r;
}

/** "@cb ctx=N a b" lines: which callbacks ran, with their context id and arguments. */
export function callbacks(plugin: Plugin, vm = 'worker0'): string[] {
  return plugin.logs.filter((l) => l.vm === vm && l.message.startsWith('@')).map((l) => l.message.slice(1));
}

/** Percent-encodes bytes for a script argument (NUL, space, ';', ',', '=', '%'). */
export function arg(s: string): string {
  return s.replace(/[\0 ;,=%\n]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** Assembles WAT text into a module binary. */
export function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  m.setFeatures(binaryen.Features.All);
  const bytes = m.emitBinary();
  m.dispose();
  return bytes;
}

/** The minimum Envoy accepts: memory, ABI marker, allocator; `extra` adds fields. */
export function minimalModule(extra = '', opts: { marker?: string; malloc?: string } = {}): string {
  const marker = opts.marker ?? 'proxy_abi_version_0_2_1';
  const malloc = opts.malloc ?? '(func (export "malloc") (param i32) (result i32) i32.const 1024)';
  return `(module ${extra} (memory (export "memory") 1) (func (export "${marker}")) ${malloc})`;
}
