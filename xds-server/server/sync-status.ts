// Per stream × type sync view (what /debug/syncz shows): Istio-style SYNCED / NOT SENT / STALE /
// NACKED, from the stream's own bookkeeping and the cache's current version.
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { XdsStream } from './stream.js';
import type { TypeState } from './type-state.js';

export type SyncState = 'SYNCED' | 'NOT_SENT' | 'STALE' | 'NACKED';

export interface TypeStatus {
  typeUrl: string;
  subscribed: string[];
  state: SyncState;
  cacheVersion: string;
  sent?: { version: string; nonce: string; at: string };
  acked?: { version: string; nonce: string };
  lastNack?: { version: string; nonce: string; code: number; message: string };
}

export interface StreamStatus {
  streamId: number;
  nodeId: string;
  group: string;
  protocol: string;
  userAgent: string;
  peer: string;
  connectedAt: string;
  /** The node's group has no snapshot: it is sent nothing (a typo in node.id/cluster, or a removed service). */
  unknownGroup?: true;
  /** Since when its last write is past the deadline (the client does not read). */
  slowSince?: string;
  types: TypeStatus[];
}

export function stateOf(ts: TypeState): SyncState {
  if (!ts.lastSent) return 'NOT_SENT';
  const nackedLast = ts.lastNack && (!ts.lastAck || ts.lastNack.at > ts.lastAck.at);
  if (nackedLast) return 'NACKED';
  // Waiting for a reply to what was sent. (Comparing with the cache version would misreport named
  // subscriptions, whose type version also moves for resources this client never asked for.)
  return ts.awaitingReply ? 'STALE' : 'SYNCED';
}

export function syncStatus(s: XdsStream, cache: SnapshotCache): StreamStatus {
  const types: TypeStatus[] = [];
  for (const ts of s.types.values()) {
    const cacheVersion = s.group === undefined ? '' : cache.get(s.group, ts.typeUrl).version;
    types.push({
      typeUrl: ts.typeUrl,
      subscribed: ts.subscribedNames(),
      state: stateOf(ts),
      cacheVersion,
      sent: ts.lastSent && {
        version: ts.lastSent.version,
        nonce: ts.lastSent.nonce,
        at: new Date(ts.lastSent.at).toISOString(),
      },
      acked: ts.lastAck && { version: ts.lastAck.version, nonce: ts.lastAck.nonce },
      lastNack: ts.lastNack && {
        version: ts.lastNack.version,
        nonce: ts.lastNack.nonce,
        code: ts.lastNack.code,
        message: ts.lastNack.message,
      },
    });
  }
  return {
    streamId: s.id,
    nodeId: s.node?.id ?? '',
    group: s.group ?? '',
    protocol: s.protocol,
    userAgent: s.node ? `${s.node.userAgentName} ${s.node.userAgentVersion}`.trim() : '',
    peer: s.peer,
    connectedAt: new Date(s.openedAt).toISOString(),
    ...(s.groupUnknown ? { unknownGroup: true as const } : {}),
    ...(s.slowSince !== undefined ? { slowSince: new Date(s.slowSince).toISOString() } : {}),
    types,
  };
}
