// Transport-neutral ingest: validate each structured CloudEvent, apply the producer's topic ACL,
// hand the valid ones to the publisher and answer one result per event, in order. HTTP and gRPC
// front this with their own parsing and status mapping.

import type { BridgeMetrics } from '../admin/metrics.js';
import type { Producer } from '../auth/producers.js';
import type { Publisher } from '../publisher/publisher.js';
import { validateEvent, type IngestLimits, type RejectCode } from '../validate/cloudevent.js';
import { tooLarge } from '../validate/request-errors.js';
import type { BrokerMessage } from '../brokers/types.js';
import { endWithError, failSpan, type BridgeTracing } from '../tracing/spans.js';
import type { Span } from '@opentelemetry/api';
import { violation } from '../contracts/contract.js';
import { schemaDeadLetter } from '../contracts/dead-letter.js';
import type { ContractRegistry } from '../contracts/registry.js';

export type EventResult =
  { id: string; status: 'accepted' } | { id: string; status: 'rejected'; reason: string; code: RejectCode };

export type Transport = 'http' | 'grpc';

export class IngestService {
  constructor(
    private readonly publisher: Publisher,
    private readonly metrics: BridgeMetrics,
    readonly limits: IngestLimits,
    private readonly extras: {
      /** Set when tracing is on: a receive span per event and a send span until the broker has it. */
      tracing?: BridgeTracing;
      /** Data contracts by event type (from the xds-server); checked when not empty. */
      contracts?: ContractRegistry;
      log?: { warn(obj: object, msg: string): void };
    } = {},
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
    const { tracing, contracts } = this.extras;
    const checked = contracts !== undefined && contracts.size > 0;
    const sends: Span[] = [];
    events.forEach((raw, i) => {
      const v = validateEvent(raw, where(i), this.limits);
      if (!v.ok) {
        results[i] = this.reject(v.id, v.code, v.reason);
      } else if (!producer.canPublish(v.message.topic)) {
        const reason = `${where(i)}: producer "${producer.name}" may not publish to topic "${v.message.topic}" (allowed: ${producer.topics.join(', ')})`;
        results[i] = this.reject(v.message.id, 'forbidden', reason);
        if (tracing) {
          const span = tracing.receive(raw as Record<string, unknown>, v.message.topic, transport);
          failSpan(span, 'forbidden', reason);
          span.end();
        }
      } else {
        let message = v.message;
        const contract = checked ? contracts.forType((raw as { type: string }).type) : undefined;
        if (contract) {
          const why = violation(contract, where(i), message.id, (raw as { data?: unknown }).data);
          if (why !== null) {
            this.metrics.schemaViolations.inc({ route: contract.name, policy: contract.policy });
            if (contract.policy === 'reject') {
              results[i] = this.reject(message.id, 'schema', why);
              return;
            }
            if (contract.policy === 'deadLetter') message = schemaDeadLetter(raw, message, contract, why);
            else
              this.extras.log?.warn(
                { id: message.id, contract: contract.name, reason: why },
                'event breaks its data contract; delivered anyway (policy warn)',
              );
          }
        }
        toPublish.push(message);
        slots.push(i);
        if (tracing) {
          const span = tracing.receive(raw as Record<string, unknown>, v.message.topic, transport);
          sends.push(tracing.send(span, v.message.topic, v.message.id));
          span.end();
        }
      }
    });
    let outcomes;
    try {
      outcomes = await this.publisher.submit(toPublish);
    } catch (e) {
      for (const span of sends) endWithError(span, 'unavailable', (e as Error).message);
      throw e;
    }
    outcomes.forEach((reason, k) => {
      const i = slots[k]!;
      const id = toPublish[k]!.id;
      // Reasons from the publisher (the broker cannot carry the topic) were already counted there.
      results[i] =
        reason === null
          ? { id, status: 'accepted' }
          : { id, status: 'rejected', reason: `${where(i)}: ${reason}`, code: 'unrepresentable' };
      if (tracing) {
        if (reason !== null) failSpan(sends[k]!, 'unrepresentable', reason);
        sends[k]!.end();
      }
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
