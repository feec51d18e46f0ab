// Endpoints of a MeshService that lists none: the ready addresses of the EndpointSlices of the
// Kubernetes Service with the same name and namespace (label kubernetes.io/service-name).
import type { HostPort } from '../mesh/types.js';
import type { KubeObject } from './objects.js';

interface SliceShape {
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean; terminating?: boolean } }[];
  ports?: { name?: string; port?: number }[];
}

/** Port choice when a Service has several: the one named "http", else the first. */
function portOf(ports: SliceShape['ports']): number | undefined {
  const list = (ports ?? []).filter((p) => typeof p.port === 'number');
  return (list.find((p) => p.name === 'http') ?? list[0])?.port;
}

export function endpointsFromSlices(slices: KubeObject[], namespace: string, service: string): HostPort[] {
  const out = new Map<string, HostPort>();
  for (const s of slices) {
    if (s.metadata.namespace !== namespace || s.metadata.labels?.['kubernetes.io/service-name'] !== service)
      continue;
    const slice = s as unknown as SliceShape;
    if (slice.addressType === 'FQDN') continue;
    const port = portOf(slice.ports);
    if (port === undefined) continue;
    for (const e of slice.endpoints ?? []) {
      // Ready unset means ready (EndpointSlice API); terminating endpoints are not.
      if (e.conditions?.ready === false || e.conditions?.terminating === true) continue;
      for (const host of e.addresses ?? []) out.set(`${host}:${port}`, { host, port });
    }
  }
  return [...out.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port));
}
