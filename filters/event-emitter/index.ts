// sidecast event-emitter: a proxy-wasm HTTP filter that turns chosen HTTP calls into CloudEvents
// (docs/event-emitter.md). Configuration: docs/interfaces.md §1, common/emitter-config.schema.json.
export * from "../sdk/exports";
import { registerRootContext, RootContext } from "../sdk";
import { EmitterRoot } from "./filter";

function createEmitterRoot(contextId: u32): RootContext {
  return new EmitterRoot(contextId);
}

// Envoy root_id "" (unset) or "event-emitter"; Istio uses WasmPlugin.pluginName as root_id.
registerRootContext(createEmitterRoot, "");
registerRootContext(createEmitterRoot, "event-emitter");
