// Every .wasm that `npm test`'s pre-step built (filters, host probes, SDK probes) must be loadable
// by Envoy: imports only env.proxy_* host functions of ABI 0.2.1 (and WASI functions Envoy
// implements), with the host's signatures; exports the ABI marker, an allocator, `_initialize`
// and the proxy_on_* callbacks with the signatures cpp-host checks; no start section; release
// builds without debug info. Reference: shared/reference/proxy-wasm.md §1.1–1.3, §1.6, §3.4.
import { describe, expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODULE_EXPORTS, PROXY_IMPORTS_0_2_1, WASI_IMPORTS, WASI_MODULES } from '../host/abi.js';
import { checkLoadable, readModuleInfo, type ModuleInfo } from '../host/wasm-module.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = join(ROOT, 'build');

function wasmFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? wasmFilesUnder(join(dir, e.name)) : e.name.endsWith('.wasm') ? [join(dir, e.name)] : [],
  );
}

/** Modules named invalid-*.wasm are deliberately broken host probes: Envoy must refuse them. */
const isInvalidProbe = (file: string): boolean => basename(file).startsWith('invalid-');
/** Release build of a filter: build/<name>.wasm (not .debug.wasm, not a probe). */
const isRelease = (file: string): boolean =>
  relative(BUILD, file) === basename(file) && !file.endsWith('.debug.wasm');

const PROXY_CALLBACKS = Object.keys(MODULE_EXPORTS).filter((n) => n.startsWith('proxy_'));

/** What our build rules (stricter than Envoy's loader) find wrong with a module; [] = fine. */
function violations(info: ModuleInfo): string[] {
  const found: string[] = [];
  for (const imp of info.imports) {
    const name = `${imp.module}.${imp.name}`;
    const want =
      imp.module === 'env'
        ? PROXY_IMPORTS_0_2_1[imp.name]
        : (WASI_MODULES as readonly string[]).includes(imp.module)
          ? WASI_IMPORTS[imp.name]
          : undefined;
    if (imp.kind !== 'function')
      found.push(`imports ${imp.kind} ${name}: export the memory instead, import nothing else`);
    else if (want === undefined)
      found.push(
        `imports ${name}, which Envoy does not provide (AssemblyScript runtime import? build with filters/asconfig.base.json)`,
      );
    else if (imp.sig !== want) found.push(`imports ${name} as (${imp.sig}) but the host defines (${want})`);
  }
  const exported = new Map(info.exports.map((e) => [e.name, e]));
  const expectFn = (name: string, why: string): void => {
    const e = exported.get(name);
    if (e === undefined || e.kind !== 'function') found.push(`missing export ${name} (${why})`);
    else if (e.sig !== MODULE_EXPORTS[name])
      found.push(`export ${name} has signature (${e.sig}), cpp-host requires (${MODULE_EXPORTS[name]})`);
  };
  if (!exported.has('proxy_abi_version_0_2_1'))
    found.push('missing export proxy_abi_version_0_2_1 (ABI marker)');
  if (!exported.has('malloc') && !exported.has('proxy_on_memory_allocate'))
    found.push('missing allocator export malloc / proxy_on_memory_allocate');
  expectFn('_initialize', 'build with --exportStart _initialize');
  for (const name of PROXY_CALLBACKS) {
    if (name !== 'proxy_on_memory_allocate')
      expectFn(name, 'add `export * from "../sdk/exports";` to the entry file');
  }
  if (exported.has('_start')) found.push('exports _start: Envoy would call it as well as _initialize');
  if (info.hasStartSection)
    found.push(
      'has a start section: top-level code would run with no context (use --exportStart _initialize)',
    );
  return found;
}

/** Names of the custom sections (id 0) of a wasm binary; debug builds carry "name". */
function customSectionNames(bytes: Uint8Array): string[] {
  let pos = 8;
  const leb = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[pos++]!;
      v |= (b & 0x7f) << shift;
      if (b < 0x80) return v >>> 0;
    }
  };
  const names: string[] = [];
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const size = leb();
    const end = pos + size;
    if (id === 0) {
      const len = leb();
      names.push(Buffer.from(bytes.subarray(pos, pos + len)).toString('utf8'));
    }
    pos = end;
  }
  return names;
}

const files = wasmFilesUnder(BUILD);
const loadable = files.filter((f) => !isInvalidProbe(f));

describe('built proxy-wasm modules', () => {
  test('the build produced every filter and every SDK probe (npm test runs scripts/build-wasm.mjs --if-stale first)', () => {
    const expected: string[] = [];
    for (const name of readdirSync(join(ROOT, 'filters'))) {
      if (existsSync(join(ROOT, 'filters', name, 'asconfig.json')))
        expected.push(`${name}.wasm`, `${name}.debug.wasm`);
    }
    for (const probe of readdirSync(join(ROOT, 'test', 'sdk', 'probes')).filter((f) => f.endsWith('.ts'))) {
      expected.push(join('sdk-probes', probe.replace(/\.ts$/, '.wasm')));
    }
    expect(expected).toContain('hello-headers.wasm');
    expect(files.map((f) => relative(BUILD, f)).sort()).toEqual(expect.arrayContaining(expected.sort()));
  });

  describe.each(loadable.map((f) => [relative(ROOT, f), f]))('%s', (_name, file) => {
    const bytes = readFileSync(file);
    const info = readModuleInfo(bytes);

    test('imports only ABI 0.2.1 host functions, exports marker + malloc + _initialize + every proxy_on_*, no start section', () => {
      expect(violations(info)).toEqual([]);
    });

    test("passes the test host's Envoy load checks", () => {
      expect(checkLoadable(info, relative(ROOT, file))).toBe('proxy_abi_version_0_2_1');
    });

    if (isRelease(file)) {
      test('release build carries no debug info (no name section, no source map)', () => {
        const names = customSectionNames(bytes);
        expect(names).not.toContain('name');
        expect(names).not.toContain('sourceMappingURL');
      });
    }
  });

  for (const file of files.filter(isInvalidProbe)) {
    test(`${relative(ROOT, file)} (deliberately invalid) is refused`, () => {
      expect(() => checkLoadable(readModuleInfo(readFileSync(file)), file)).toThrow();
    });
  }

  test('the SDK probes together import every ABI 0.2.1 host function (so every signature above was checked)', () => {
    const imported = new Set(
      wasmFilesUnder(join(BUILD, 'sdk-probes')).flatMap((f) =>
        readModuleInfo(readFileSync(f)).imports.map((i) => i.name),
      ),
    );
    expect(Object.keys(PROXY_IMPORTS_0_2_1).filter((n) => !imported.has(n))).toEqual([]);
  });

  test('filters/sdk/imports.ts declares every ABI 0.2.1 host function, and nothing else', () => {
    const source = readFileSync(join(ROOT, 'filters', 'sdk', 'imports.ts'), 'utf8');
    const declared = [...source.matchAll(/@external\("(\w+)", "(\w+)"\)/g)].map((m) => `${m[1]}.${m[2]}`);
    expect(declared.sort()).toEqual(
      Object.keys(PROXY_IMPORTS_0_2_1)
        .map((n) => `env.${n}`)
        .sort(),
    );
  });

  test('the rules catch what AssemblyScript emits by default (env.abort, no ABI marker, no _initialize)', async () => {
    const asc = await import('assemblyscript/asc');
    const out = await asc.compileString('export function f(x: i32): i32 { assert(x > 0); return x; }', {
      optimizeLevel: 0,
    });
    expect(out.error).toBeNull();
    const found = violations(readModuleInfo(out.binary!));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringContaining('env.abort'),
        expect.stringContaining('proxy_abi_version_0_2_1'),
        expect.stringContaining('_initialize'),
        expect.stringContaining('proxy_on_context_create'),
      ]),
    );
  });
});
