// One durable MQTT consumer = one persistent session per bridge replica (client id
// `<prefix><consumer>-<replica>`, clean=false, MQTT 5 session expiry), subscribed at QoS 1 to
// `$share/<clientIdPrefix><consumer>/<filter>` per pattern so replicas compete.
//
// MQTT has no negative acknowledgement, and a client must send PUBACKs in the order the PUBLISHes
// arrived; mqtt.js's handleMessage (the PUBACK goes out when it calls back) enforces that by
// handing over one message at a time. So a consumer connection settles messages one by one, and
// a rejected message is offered to the handler again after a delay, still unacknowledged: if the
// bridge dies meanwhile the broker redelivers it (DUP) when the session resumes.
import type { IClientOptions, IPublishPacket } from 'mqtt';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokerUnavailableError,
  type ConsumerSpec,
  type MessageHandler,
  type ReceivedMessage,
} from '../types.js';
import { PatternSet } from '../translate/filter.js';
import { mqttFilter, sharedFilter, topicOfMqtt } from '../translate/mqtt.js';
import { brokerSafeName } from '../shared/names.js';
import { reason, type BackoffOptions } from '../shared/backoff.js';
import { MqttLink } from './link.js';
import { messageMeta } from './meta.js';

export interface ConsumerSetup {
  url: string;
  base: IClientOptions;
  prefix: string;
  clientIdPrefix: string;
  replicaId: string;
  shared: boolean;
  sessionExpirySeconds: number;
  redeliveryDelayMs: number;
  backoff: BackoffOptions;
}

export class MqttConsumer {
  private link?: MqttLink;
  private closed = false;
  private readonly stop = new AbortController();
  private readonly accepted: PatternSet;
  private readonly filters: string[];

  constructor(
    private readonly spec: ConsumerSpec,
    private readonly handler: MessageHandler,
    private readonly s: ConsumerSetup,
  ) {
    this.accepted = new PatternSet(spec.patterns);
    // The client-id prefix namespaces share groups too, so two deployments on one broker never
    // split each other's events.
    const group = brokerSafeName(`${s.clientIdPrefix}${spec.name}`);
    this.filters = spec.patterns.map((p) => {
      const f = mqttFilter(s.prefix, p);
      return s.shared ? sharedFilter(group, f) : f;
    });
  }

  async start(): Promise<void> {
    const v5 = this.s.base.protocolVersion === 5;
    const options: IClientOptions = {
      ...this.s.base,
      clientId: `${this.s.clientIdPrefix}${brokerSafeName(this.spec.name)}-${this.s.replicaId}`,
      clean: false,
      ...(v5
        ? {
            properties: {
              sessionExpiryInterval: this.s.sessionExpirySeconds,
              receiveMaximum: Math.min(this.spec.maxInFlight, 65535),
            },
          }
        : {}),
    };
    this.link = await MqttLink.open(this.s.url, options, this.s.backoff, (c) => {
      c.handleMessage = (packet, done) => {
        this.settle(packet).then(
          () => !this.closed && done(),
          () => {}, // closed mid-retry: no PUBACK, the session keeps the message
        );
      };
    });
    try {
      const grants = await this.link.client.subscribeAsync(this.filters, { qos: 1 });
      const refused = grants.filter((g) => g.qos > 1);
      if (refused.length > 0)
        throw new Error(`broker refused subscription(s) ${refused.map((g) => g.topic).join(', ')}`);
    } catch (e) {
      await this.close();
      throw new BrokerUnavailableError('mqtt', `cannot subscribe consumer ${this.spec.name}: ${reason(e)}`, {
        cause: e,
      });
    }
  }

  private async settle(packet: IPublishPacket): Promise<void> {
    const topic = topicOfMqtt(this.s.prefix, packet.topic);
    if (!this.accepted.accepts(topic)) return; // '#' matched zero levels: acknowledge and drop
    const meta = messageMeta(packet);
    const body = new Uint8Array(
      Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
    );
    for (let deliveryCount = packet.dup ? 2 : 1; ; deliveryCount++) {
      if (this.closed) throw new Error('consumer closed');
      const m: ReceivedMessage = { id: meta.id, topic, key: meta.key, body, deliveryCount };
      try {
        return await this.handler(m);
      } catch {
        await sleep(this.s.redeliveryDelayMs, undefined, { signal: this.stop.signal }).catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    // Leave without unsubscribing: the persistent session keeps collecting events for this consumer.
    await this.link?.close();
  }
}
