// MQTT adapter (mqtt.js; Mosquitto, EMQX, HiveMQ, Solace PubSub+). Publish: QoS 1 on a clean
// publisher session, every PUBACK awaited; MQTT 5 user properties carry the event id and key.
// Consume: see consumer.ts. At-least-once caveats are listed in docs/brokers.md.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { IClientOptions } from 'mqtt';
import {
  BrokerUnavailableError,
  type BrokerAdapter,
  type BrokerMessage,
  type Consumer,
  type ConsumerSpec,
  type MessageHandler,
} from '../types.js';
import { checkMqttPrefix, mqttFilter, mqttTopic } from '../translate/mqtt.js';
import { DEFAULT_RECONNECT, reason } from '../shared/backoff.js';
import { LiveConsumers } from '../shared/live-consumers.js';
import { ReconnectListeners } from '../shared/reconnect-listeners.js';
import { within } from '../shared/within.js';
import { MqttLink } from './link.js';
import { MqttConsumer, type ConsumerSetup } from './consumer.js';
import { ID_PROPERTY, KEY_PROPERTY } from './meta.js';
import type { MqttAdapterOptions } from './options.js';

export class MqttAdapter implements BrokerAdapter {
  readonly kind = 'mqtt' as const;
  private readonly prefix: string;
  private readonly base: IClientOptions;
  private link?: MqttLink;
  private readonly consumers = new LiveConsumers<MqttConsumer>();
  private readonly reconnects = new ReconnectListeners();

  constructor(private readonly opts: MqttAdapterOptions) {
    this.prefix = checkMqttPrefix(opts.topicPrefix ?? '');
    this.base = {
      protocolVersion: opts.protocolVersion ?? 5,
      username: opts.username,
      password: opts.password,
      keepalive: opts.keepaliveSeconds ?? 60,
      connectTimeout: opts.connectTimeoutMs ?? 5_000,
    };
  }

  private get replicaId(): string {
    return this.opts.replicaId ?? hostname().replace(/[^A-Za-z0-9_-]/g, '_');
  }

  async connect(): Promise<void> {
    if (this.link) return;
    const clientId = `${this.opts.clientIdPrefix ?? 'sidecast-'}pub-${this.replicaId}-${randomBytes(4).toString('hex')}`;
    this.link = await MqttLink.open(
      this.opts.url,
      { ...this.base, clientId, clean: true },
      this.opts.reconnect ?? DEFAULT_RECONNECT,
    );
    // Registered after the first CONNACK, so every 'connect' from here on is a reconnect.
    this.link.client.on('connect', () => this.reconnects.notify());
  }

  checkPattern(pattern: string): void {
    mqttFilter(this.prefix, pattern);
  }

  isConnected(): boolean {
    return this.link?.connected ?? false;
  }

  onReconnect(listener: () => void): void {
    this.reconnects.add(listener);
  }

  private live(): MqttLink {
    if (!this.link?.connected)
      throw new BrokerUnavailableError(
        'mqtt',
        `not connected to ${this.opts.url.replace(/\/\/[^@/]*@/, '//***@')}`,
      );
    return this.link;
  }

  async publish(batch: BrokerMessage[]): Promise<void> {
    const topics = batch.map((m) => mqttTopic(this.prefix, m.topic)); // all or nothing
    if (batch.length === 0) return;
    const client = this.live().client;
    const v5 = this.base.protocolVersion === 5;
    const acks = batch.map((m, i) =>
      client.publishAsync(topics[i]!, Buffer.from(m.body), {
        qos: 1,
        ...(v5
          ? {
              properties: {
                contentType: 'application/cloudevents+json',
                userProperties: {
                  [ID_PROPERTY]: m.id,
                  ...(m.key === undefined ? {} : { [KEY_PROPERTY]: m.key }),
                },
              },
            }
          : {}),
      }),
    );
    const timeoutMs = this.opts.publishTimeoutMs ?? 5_000;
    try {
      await within(Promise.all(acks), timeoutMs, `no PUBACK within ${timeoutMs} ms`);
    } catch (e) {
      // A message sent before the cut may still arrive after reconnect: a duplicate with the same id.
      throw new BrokerUnavailableError('mqtt', `batch of ${batch.length} not acknowledged: ${reason(e)}`, {
        cause: e,
      });
    }
  }

  async subscribe(spec: ConsumerSpec, handler: MessageHandler): Promise<Consumer> {
    const setup: ConsumerSetup = {
      url: this.opts.url,
      base: this.base,
      prefix: this.prefix,
      clientIdPrefix: this.opts.clientIdPrefix ?? 'sidecast-',
      replicaId: this.replicaId,
      shared: this.opts.sharedSubscriptions ?? true,
      sessionExpirySeconds: this.opts.sessionExpirySeconds ?? 7 * 24 * 3600,
      redeliveryDelayMs: this.opts.redeliveryDelayMs ?? 1_000,
      backoff: this.opts.reconnect ?? DEFAULT_RECONNECT,
    };
    const consumer = new MqttConsumer(spec, handler, setup);
    this.live();
    await consumer.start();
    return this.consumers.track(consumer);
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    await this.consumers.closeAll();
    await link?.close().catch(() => {});
  }
}
