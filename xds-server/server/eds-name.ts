// The ClusterLoadAssignment name an EDS cluster asks for: eds_cluster_config.service_name, else
// the cluster's own name. Read once per published cluster (memoised on its CachedResource).
import type protobuf from 'protobufjs';
import { envoyRoot } from '../../proto/envoy.js';
import type { CachedResource } from '../cache/types.js';

const names = new WeakMap<CachedResource, string>();
let clusterType: protobuf.Type | undefined;

export function edsNameOf(cluster: CachedResource): string {
  let name = names.get(cluster);
  if (name === undefined) {
    clusterType ??= envoyRoot().lookupType('envoy.config.cluster.v3.Cluster');
    let serviceName = '';
    try {
      const c = clusterType.decode(cluster.bytes) as unknown as {
        eds_cluster_config?: { service_name?: string };
      };
      serviceName = c.eds_cluster_config?.service_name ?? '';
    } catch {
      // not a decodable Cluster (a test double): its own name is the best guess
    }
    names.set(cluster, (name = serviceName || cluster.name));
  }
  return name;
}
