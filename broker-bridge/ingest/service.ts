// Transport-neutral ingest: validate each structured CloudEvent, apply the producer's topic ACL,
// hand the valid ones to the publisher and answer one result per event, in order. HTTP and gRPC
// front this with their own parsing and status mapping.

import type { BridgeMetrics } from '../admin/metrics.js';
import type { Producer } from '../auth/producers.js';
import type { Publisher } from '../publisher/publisher.js';
import { validateEvent, type IngestLimits, type RejectCode } from '../validate/cloudevent.js';
import { tooLarge } from '../validate/request-errors.js';
import type { BrokerMessage } from '../brokers/types.js';

export type EventResult =
  { id: string; status: 'accepted' } | { id: string; status: 'rejected'; reason: string; code: RejectCode };

export type Transport = 'http' | 'grpc';

export class IngestService {
  constructor(
    private readonly publisher: Publisher,
    private readonly metrics: BridgeMetrics,
    readonly limits: IngestLimits,
  ) {}

  /** `events` are JSON-parsed structured CloudEvents. Throws IngestRequestError for whole-request failures. */
  async ingest(producer: Producer, events: unknown[], transport: Transport): Promise<EventResult[]> {
    if (events.length > this.limits.maxBatchEvents) {
      throw tooLarge(
        `batch has ${events.length} events, over the limit of ${this.limits.maxBatchEvents} (limits.maxBatchEvents); split it`,
      );
    }
    const stop = this.metrics.ackLatency.startTimer();
    this.metrics.ingested.inc({ transport }, events.length);
    const results: EventResult[] = new Array(events.length);
    const toPublish: BrokerMessage[] = [];
    const slots: number[] = [];
    const where = (i: number): string => (events.length === 1 ? 'event' : `event #${i}`);
    events.forEach((raw, i) => {
      const v = validateEvent(raw, where(i), this.limits);
      if (!v.ok) {
        results[i] = this.reject(v.id, v.code, v.reason);
      } else if (!producer.canPublish(v.message.topic)) {
        results[i] = this.reject(
          v.message.id,
          'forbidden',
          `${where(i)}: producer "${producer.name}" may not publish to topic "${v.message.topic}" (allowed: ${producer.topics.join(', ')})`,
        );
      } else {
        toPublish.push(v.message);
        slots.push(i);
      }
    });
    const outcomes = await this.publisher.submit(toPublish);
    outcomes.forEach((reason, k) => {
      const i = slots[k]!;
      const id = toPublish[k]!.id;
      // Reasons from the publisher (the broker cannot carry the topic) were already counted there.
      results[i] =
        reason === null
          ? { id, status: 'accepted' }
          : { id, status: 'rejected', reason: `${where(i)}: ${reason}`, code: 'unrepresentable' };
    });
    this.metrics.accepted.inc(outcomes.filter((o) => o === null).length);
    stop();
    return results;
  }

  private reject(id: string, code: RejectCode, reason: string): EventResult {
    this.metrics.rejected.inc({ reason: code });
    return { id, status: 'rejected', reason, code };
  }
}
