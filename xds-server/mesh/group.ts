// Which group of FleetResources a connecting xDS client gets (docs/interfaces.md §4).
import { BRIDGE_GROUP } from './model.js';
import { proxylessGroup } from './translate.js';

/**
 * The parts of an xDS Node that decide its group. Accepts the shapes the usual decoders produce:
 * metadata as a google.protobuf.Struct (`fields` → Value with `string_value`/`stringValue`), or as
 * plain JSON.
 */
export interface NodeLike {
  id?: string;
  cluster?: string;
  user_agent_name?: string;
  userAgentName?: string;
  metadata?: unknown;
}

/** Reads a string from node metadata, whichever decoder produced it. */
export function metadataString(node: NodeLike, key: string): string | undefined {
  const md = node.metadata as Record<string, unknown> | null | undefined;
  if (!md || typeof md !== 'object') return undefined;
  const fields = md.fields as Record<string, Record<string, unknown>> | undefined;
  const v = fields && typeof fields === 'object' && key in fields ? fields[key] : md[key];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const s = (v as Record<string, unknown>).string_value ?? (v as Record<string, unknown>).stringValue;
    if (typeof s === 'string') return s;
  }
  return undefined;
}

/**
 * Group of a node: "sidecast-bridge" for bridges (metadata sidecast.role = bridge, or an id starting
 * with "sidecast-bridge"); otherwise the service — metadata sidecast.service, else node.cluster,
 * else node.id — as "<service>" for Envoy sidecars and "proxyless/<service>" for proxyless gRPC
 * clients (metadata sidecast.role = proxyless, or a user agent starting with "gRPC", which every
 * gRPC xDS client sends).
 */
export function groupOf(node: NodeLike): string {
  const role = metadataString(node, 'sidecast.role');
  if (role === 'bridge' || node.id?.startsWith(BRIDGE_GROUP)) return BRIDGE_GROUP;
  const service = metadataString(node, 'sidecast.service') || node.cluster || node.id || '';
  const agent = node.user_agent_name ?? node.userAgentName ?? '';
  return role === 'proxyless' || agent.startsWith('gRPC') ? proxylessGroup(service) : service;
}

/**
 * Why a node cannot be placed in a group, or undefined. An Envoy sidecar is grouped by service,
 * so it needs node.cluster or metadata sidecast.service: without them its node.id would be taken
 * for a service name and match nothing. Bridges and proxyless gRPC clients are placed otherwise.
 */
export function nodeProblem(node: NodeLike): string | undefined {
  const agent = node.user_agent_name ?? node.userAgentName ?? '';
  if (metadataString(node, 'sidecast.role') || node.id?.startsWith(BRIDGE_GROUP) || agent.startsWith('gRPC'))
    return undefined;
  if (node.cluster || metadataString(node, 'sidecast.service')) return undefined;
  return (
    'node.cluster is empty and node.metadata has no "sidecast.service": sidecast picks a sidecar\'s ' +
    'config by its service; set node.cluster (Envoy: --service-cluster) to the service name'
  );
}
