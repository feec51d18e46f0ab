// Builds the dead-letter message: the original CloudEvent (same id, source, data) with extension
// attributes that record why it could not be delivered, published to the subscription's DLQ topic.
import type { BrokerMessage, ReceivedMessage } from '../brokers/types.js';
import type { StructuredEvent } from './cloudevent-http.js';

export interface DeadLetterFacts {
  subscription: string;
  topic: string;
  /** Last HTTP status, 0 when there was none (timeout, poison). */
  status: number;
  reason: string;
  attempts: number;
}

const MAX_REASON = 1024;

export function deadLetterMessage(
  received: ReceivedMessage,
  ev: StructuredEvent | undefined,
  f: DeadLetterFacts,
): BrokerMessage {
  // A body that was not a CloudEvent is wrapped in one so the DLQ stays a CloudEvents topic.
  const base: Record<string, unknown> = ev ?? {
    specversion: '1.0',
    id: received.id,
    source: '//sidecast-bridge',
    type: 'io.sidecast.undeliverable.v1',
    datacontenttype: 'application/octet-stream',
    data_base64: Buffer.from(received.body).toString('base64'),
  };
  const out = {
    ...base,
    topic: f.topic,
    deadletterreason: f.reason.slice(0, MAX_REASON),
    deadletterstatus: f.status,
    deadletterattempts: f.attempts,
    deadletterconsumer: f.subscription,
    deadletterorigtopic: received.topic,
    deadlettertime: new Date().toISOString(),
  };
  return {
    // Distinct from the original id so broker-side dedup (NATS Nats-Msg-Id) does not swallow it,
    // and deterministic so a repeated dead-letter publish for the same event is deduplicated.
    id: `${String(base.id)}/deadletter/${f.subscription}`,
    topic: f.topic,
    ...(received.key !== undefined ? { key: received.key } : {}),
    body: Buffer.from(JSON.stringify(out)),
  };
}
