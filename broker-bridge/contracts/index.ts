// Keeps a bridge's data contracts in step with the xds-server: a delta-ADS client for
// sidecast.v1.EventContract beside the Subscription one, feeding bridge.contracts.
import type { Bridge } from '../index.js';
import { DeltaXdsClient } from '../xds/delta-client.js';
import type { EventContract } from './contract.js';
import { decodeContract, EVENT_CONTRACT_TYPE_URL } from './resource.js';

export function attachContracts(
  bridge: Bridge,
  src: { server: string; nodeId: string; cluster?: string },
): DeltaXdsClient<EventContract> {
  const client = new DeltaXdsClient<EventContract>({
    server: src.server,
    node: {
      id: src.nodeId,
      ...(src.cluster ? { cluster: src.cluster } : {}),
      metadata: { 'sidecast.role': 'bridge' },
    },
    typeUrl: EVENT_CONTRACT_TYPE_URL,
    decode: decodeContract,
    onChange: (contracts) => bridge.contracts.set(contracts.values()),
    logger: bridge.logger.child({ component: 'contracts' }),
  });
  client.start();
  bridge.onStop(async () => client.close());
  return client;
}
