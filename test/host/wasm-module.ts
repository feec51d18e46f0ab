// Reads what Envoy's loader looks at in a .wasm binary (imports with their signatures, exports in
// order with their signatures) and applies cpp-host's load-time checks. Node's WebAssembly.Module
// reports neither signatures nor import kinds precisely enough, so the sections are parsed here.
import {
  ABI_MARKERS,
  ENV_EXTRA_IMPORTS,
  MODULE_EXPORTS,
  PROXY_IMPORTS_0_2_1,
  WASI_IMPORTS,
  WASI_MODULES,
  type AbiMarker,
  type Sig,
} from './abi.js';

export interface ImportEntry {
  module: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  sig?: Sig;
  memory?: { initial: number; maximum?: number };
}
export interface ExportEntry {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  sig?: Sig;
}
export interface ModuleInfo {
  imports: ImportEntry[];
  exports: ExportEntry[];
  hasStartSection: boolean;
}

/** A module Envoy would refuse to load; the message says which rule and which name. */
export class WasmLoadError extends Error {
  override name = 'WasmLoadError';
}

const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;
const VALTYPES: Record<number, string> = {
  0x7f: 'i',
  0x7e: 'I',
  0x7d: 'f',
  0x7c: 'F',
  0x7b: 'v',
  0x70: 'r',
  0x6f: 'r',
};

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.bytes.length;
  }
  byte(): number {
    if (this.pos >= this.bytes.length) throw new WasmLoadError('truncated wasm binary');
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }
  name(): string {
    const len = this.u32();
    const s = Buffer.from(this.bytes.subarray(this.pos, this.pos + len)).toString('utf8');
    this.pos += len;
    return s;
  }
  valtype(): string {
    const t = this.byte();
    const v = VALTYPES[t];
    if (v === undefined) throw new WasmLoadError(`unsupported value type 0x${t.toString(16)} in wasm binary`);
    return v;
  }
  limits(): { initial: number; maximum?: number } {
    const flags = this.byte();
    const initial = this.u32();
    return flags & 1 ? { initial, maximum: this.u32() } : { initial };
  }
}

export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmLoadError('not a wasm binary (missing \\0asm magic)');
  }
  const r = new Reader(bytes);
  r.pos = 8;
  const types: Sig[] = [];
  const funcTypes: number[] = []; // type index of every function, imported ones first
  const imports: ImportEntry[] = [];
  const rawExports: { name: string; kind: number; index: number }[] = [];
  let hasStartSection = false;
  while (!r.done) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        const form = r.byte();
        if (form !== 0x60) throw new WasmLoadError(`unsupported type form 0x${form.toString(16)}`);
        let params = '';
        for (let p = r.u32(); p > 0; p--) params += r.valtype();
        let results = '';
        for (let p = r.u32(); p > 0; p--) results += r.valtype();
        types.push(`${params}:${results}`);
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        const entry: ImportEntry = { module, name, kind: KINDS[kind] ?? 'tag' };
        if (kind === 0) {
          const t = r.u32();
          funcTypes.push(t);
          entry.sig = types[t];
        } else if (kind === 1) {
          r.byte();
          r.limits();
        } else if (kind === 2) {
          entry.memory = r.limits();
        } else if (kind === 3) {
          r.valtype();
          r.byte();
        } else {
          r.byte();
          r.u32();
        }
        imports.push(entry);
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) rawExports.push({ name: r.name(), kind: r.byte(), index: r.u32() });
    } else if (id === 8) {
      hasStartSection = true;
    }
    r.pos = end;
  }
  const exports: ExportEntry[] = rawExports.map((e) => ({
    name: e.name,
    kind: KINDS[e.kind] ?? 'tag',
    sig: e.kind === 0 ? types[funcTypes[e.index] ?? -1] : undefined,
  }));
  return { imports, exports, hasStartSection };
}

/** The first export named like an ABI marker, as cpp-host's getAbiVersion picks it. */
export function abiMarkerOf(info: ModuleInfo): AbiMarker | undefined {
  for (const e of info.exports) {
    if (e.kind === 'function' && (ABI_MARKERS as readonly string[]).includes(e.name))
      return e.name as AbiMarker;
  }
  return undefined;
}

/** Signature the host provides for an import, or undefined when Envoy has no such host function. */
export function providedImportSig(module: string, name: string): Sig | undefined {
  if (module === 'env') return PROXY_IMPORTS_0_2_1[name] ?? ENV_EXTRA_IMPORTS[name];
  if ((WASI_MODULES as readonly string[]).includes(module)) return WASI_IMPORTS[name];
  return undefined;
}

/**
 * Applies Envoy's load-time rules (reference §1.1, §1.3, §1.6, §2.16 point 1) and returns the ABI
 * marker. Throws WasmLoadError naming the offending import/export.
 */
export function checkLoadable(info: ModuleInfo, file: string): AbiMarker {
  const marker = abiMarkerOf(info);
  if (!marker) {
    throw new WasmLoadError(
      `${file}: Missing or unknown Proxy-Wasm ABI version (export proxy_abi_version_0_2_1 from the module)`,
    );
  }
  if (marker !== 'proxy_abi_version_0_2_1') {
    throw new WasmLoadError(
      `${file}: exports ${marker}; this test host implements ABI 0.2.1 only (rebuild against ABI 0.2.1)`,
    );
  }
  for (const imp of info.imports) {
    const where = `${file}: import ${imp.module}.${imp.name}`;
    if (imp.kind === 'global')
      throw new WasmLoadError(`${where}: imported globals are rejected by Envoy's V8 linker`);
    if (imp.kind === 'memory' || imp.kind === 'table') continue;
    if (imp.kind !== 'function') throw new WasmLoadError(`${where}: unsupported import kind ${imp.kind}`);
    const sig = providedImportSig(imp.module, imp.name);
    if (sig === undefined) {
      const hint =
        imp.name === 'abort'
          ? ' (build with asc --use abort=<your fn> so AssemblyScript does not import env.abort)'
          : '';
      throw new WasmLoadError(`${where}: Failed to load Wasm module due to a missing import${hint}`);
    }
    if (sig !== imp.sig)
      throw new WasmLoadError(`${where}: signature ${imp.sig} does not match the host's ${sig}`);
  }
  for (const exp of info.exports) {
    const want = MODULE_EXPORTS[exp.name];
    if (want !== undefined && exp.kind === 'function' && exp.sig !== want) {
      throw new WasmLoadError(
        `${file}: Bad function signature for: ${exp.name} (${exp.sig}, expected ${want})`,
      );
    }
  }
  const names = new Set(info.exports.filter((e) => e.kind === 'function').map((e) => e.name));
  if (!names.has('malloc') && !names.has('proxy_on_memory_allocate')) {
    throw new WasmLoadError(
      `${file}: Wasm module is missing malloc function (export malloc or proxy_on_memory_allocate)`,
    );
  }
  if (!info.exports.some((e) => e.kind === 'memory') && !info.imports.some((e) => e.kind === 'memory')) {
    throw new WasmLoadError(`${file}: the module neither exports nor imports a memory`);
  }
  return marker;
}
