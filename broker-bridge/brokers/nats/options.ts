import type { BackoffOptions } from '../shared/backoff.js';

/**
 * NATS reconnects at most 800 ms apart (jittered between 400 and 800 ms once capped), so the bridge
 * is publishing again within about a second of the server being back. A refused attempt costs a
 * TCP SYN/RST on loopback or LAN, and nats-server is built for fleets reconnecting at once.
 */
export const NATS_DEFAULT_RECONNECT: BackoffOptions = { initialMs: 100, maxMs: 800 };

export interface NatsAdapterOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222` (credentials may be in the URL). */
  servers: string | string[];
  /** JetStream stream holding sidecast events (created if missing). Default `SIDECAST`. */
  stream?: string;
  /** Subject prefix; topic `a/b` is subject `<prefix>.a.b`. Default `sidecast`. */
  subjectPrefix?: string;
  /** Nats-Msg-Id deduplication window of a stream this adapter creates. Default 2 min. */
  duplicateWindowMs?: number;
  /** Age after which a stream this adapter creates drops events. Default 7 days. */
  maxAgeMs?: number;
  /** How long publish waits for every PubAck before rejecting. Default 5 s. */
  publishTimeoutMs?: number;
  /** Redelivery after an unacknowledged delivery. Default 30 s. */
  ackWaitMs?: number;
  /** Delay of the nak when the handler rejects. Default 1 s. */
  redeliveryDelayMs?: number;
  /** Where a durable consumer created now starts: only new events (default) or the whole stream. */
  startAt?: 'new' | 'all';
  /** Delay between reconnect attempts. Default NATS_DEFAULT_RECONNECT (100 ms doubling, capped at 800 ms). */
  reconnect?: BackoffOptions;
  /** Client-side ping interval; bounds how long a silently dead connection looks alive. Default 10 s. */
  pingIntervalMs?: number;
  user?: string;
  pass?: string;
  token?: string;
  /** Connection name shown by the server. */
  name?: string;
}
