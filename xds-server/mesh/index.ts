// Mesh configuration in, Envoy resources out (docs/interfaces.md §4–5, docs/mesh-config.md).
export { groupOf, metadataString, nodeProblem, type NodeLike } from './group.js';
export { DocumentCache } from './documents.js';
export { loadMesh, meshFiles, parseMesh } from './load.js';
export { BRIDGE_GROUP, DEFAULT_WASM_FILE } from './model.js';
export { BRIDGE_CLUSTER, emitterConfig, NO_EVENTS_RULE } from './emitter.js';
export {
  EMITTER_ROOT_ID,
  emitterResourceName,
  INBOUND,
  inboundCluster,
  OUTBOUND,
  outboundCluster,
  proxylessGroup,
  translate,
  TranslationMemo,
} from './translate.js';
export { resourcesVersion, watchMesh, type MeshState, type MeshWatcher, type WatchOptions } from './watch.js';
export {
  formatIssue,
  MeshConfigError,
  type FleetResources,
  type MeshConfig,
  type MeshIssue,
} from './types.js';
