// The one interface every broker adapter implements (docs/interfaces.md §3). Adapters live in
// broker-bridge/brokers/<kind>/ and must pass the shared conformance suite.

/** An event on its way to a broker: the structured-mode CloudEvent JSON plus the fields brokers key on. */
export interface BrokerMessage {
  /** CloudEvent id; brokers that deduplicate use it (NATS Nats-Msg-Id, Kafka idempotence key). */
  id: string;
  /** sidecast topic ('/'-separated levels), translated by the adapter. */
  topic: string;
  /** CloudEvent `partitionkey` extension, if any. */
  key?: string;
  /** application/cloudevents+json bytes. */
  body: Uint8Array;
}

export interface ReceivedMessage {
  id: string;
  topic: string;
  key?: string;
  body: Uint8Array;
  /** 1 on first delivery, higher on redelivery. */
  deliveryCount: number;
}

export interface ConsumerSpec {
  /** Durable consumer name, shared by all bridge replicas (competing consumers). */
  name: string;
  /** sidecast subscription patterns ('*' one level, '>' last, one or more levels). */
  patterns: string[];
  /** Most messages handed to the handler and not yet settled. */
  maxInFlight: number;
}

export interface Consumer {
  close(): Promise<void>;
}

/** Handler contract: resolve ⇒ the adapter acknowledges; reject ⇒ the broker redelivers later. */
export type MessageHandler = (m: ReceivedMessage) => Promise<void>;

export interface BrokerAdapter {
  readonly kind: 'embedded' | 'nats' | 'rabbitmq' | 'mqtt' | 'kafka';
  connect(): Promise<void>;
  /** Resolves only when the broker has durably taken every message of the batch; rejects otherwise. */
  publish(batch: BrokerMessage[]): Promise<void>;
  subscribe(spec: ConsumerSpec, handler: MessageHandler): Promise<Consumer>;
  isConnected(): boolean;
  /**
   * Throws UnrepresentableTopicError when this broker cannot carry subscription `pattern` (no I/O),
   * so a Subscription can be refused (xDS NACK) before any consumer is made for it.
   */
  checkPattern(pattern: string): void;
  /**
   * Calls `listener` each time the adapter has its broker connection back after losing it (not on
   * the first connect). The publisher starts replaying its spool on it instead of on its next
   * backoff timer. Optional: adapters whose client does not report reconnects leave it out.
   */
  onReconnect?(listener: () => void): void;
  close(): Promise<void>;
}

/** Raised when a topic or pattern cannot be carried by a broker; the message says which level and why. */
export class UnrepresentableTopicError extends Error {
  constructor(
    readonly broker: string,
    readonly topic: string,
    readonly reason: string,
  ) {
    super(`${broker} cannot carry topic ${JSON.stringify(topic)}: ${reason}`);
    this.name = 'UnrepresentableTopicError';
  }
}

/** Raised when the broker cannot be reached or refused the publish; callers spool and retry. */
export class BrokerUnavailableError extends Error {
  constructor(
    readonly broker: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${broker} unavailable: ${message}`, options);
    this.name = 'BrokerUnavailableError';
  }
}
