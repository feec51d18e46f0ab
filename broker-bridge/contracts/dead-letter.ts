// Policy deadLetter: the event goes to the contract's dead-letter topic instead of its own, as the
// same CloudEvent (same id, source, data) with extension attributes saying why.
import type { BrokerMessage } from '../brokers/types.js';
import type { EventContract } from './contract.js';

const MAX_REASON = 1024;

export function schemaDeadLetter(
  raw: unknown,
  original: BrokerMessage,
  c: EventContract,
  reason: string,
): BrokerMessage {
  const ev = {
    ...(raw as Record<string, unknown>),
    topic: c.deadLetterTopic,
    deadletterreason: reason.slice(0, MAX_REASON),
    deadletterconsumer: `contract:${c.name}`,
    deadletterorigtopic: original.topic,
    deadlettertime: new Date().toISOString(),
  };
  return {
    id: original.id,
    topic: c.deadLetterTopic,
    ...(original.key !== undefined ? { key: original.key } : {}),
    body: Buffer.from(JSON.stringify(ev)),
  };
}
