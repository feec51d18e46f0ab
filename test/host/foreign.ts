// proxy_call_foreign_function: the host functions Envoy registers by name
// (extensions/common/wasm/foreign.cc). Modelled: `compress` / `uncompress` (zlib format, as zlib's
// compress()/uncompress()). Envoy also registers `set_envoy_filter_state`, `declare_property` and,
// when built with the CEL parser, `expr_create` / `expr_evaluate` / `expr_delete`; those are not
// modelled here and answer NotFound like any unknown name.
import { deflateSync, inflateSync } from 'node:zlib';
import { WasmResult } from './abi.js';

/** A foreign function: arguments in, result bytes out, or a failure status. */
export type ForeignFunction = (args: Buffer) => { result: WasmResult; value?: Buffer };

const FOREIGN_FUNCTIONS = new Map<string, ForeignFunction>([
  ['compress', (args) => ({ result: WasmResult.Ok, value: deflateSync(args) })],
  [
    'uncompress',
    (args) => {
      try {
        return { result: WasmResult.Ok, value: inflateSync(args) };
      } catch {
        return { result: WasmResult.SerializationFailure }; // zlib error other than Z_BUF_ERROR
      }
    },
  ],
]);

/** The registered function, or undefined (the hostcall then answers NotFound). */
export function foreignFunction(name: string): ForeignFunction | undefined {
  return FOREIGN_FUNCTIONS.get(name);
}
