import type { SASLOptions } from 'kafkajs';
import type { BackoffOptions } from '../shared/backoff.js';

export interface KafkaAdapterOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  clientId?: string;
  /** How many leading topic levels name the Kafka topic (joined with '.'); the rest rides in a header. Default 1. */
  topicLevels?: number;
  ssl?: boolean;
  sasl?: SASLOptions;
  /** How long publish waits for the whole batch to be acknowledged (acks=all). Default 5 s. */
  publishTimeoutMs?: number;
  /** Wait before the handler is offered a rejected event again (the partition waits with it). Default 1 s. */
  redeliveryDelayMs?: number;
  /** Where a consumer group with no committed offsets starts: only new events (default) or the whole topic. */
  startAt?: 'new' | 'all';
  reconnect?: BackoffOptions;
}
