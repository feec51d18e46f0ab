// AssemblyScript's abort (failed assertion, throw, bounds check...) would import `env.abort`,
// which Envoy does not provide. asconfig maps it here (`"use": ["abort=sdk_abort"]`): we log the
// reason through proxy_log at critical level, then trap — Envoy marks the VM failed and applies
// the plugin's failure policy. The SDK itself never gets here on statuses Envoy returns normally.
import { proxy_log } from "./imports";

// @ts-ignore: decorator
@global
export function sdk_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "wasm abort: " + (message === null ? "(no message)" : message);
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const bytes = String.UTF8.encode(text);
  proxy_log(5, changetype<usize>(bytes), <usize>bytes.byteLength);
  unreachable();
}
