// One MQTT connection with our reconnect policy. mqtt.js reconnects at a fixed period, so its
// own reconnect is switched off (reconnectPeriod 0) and we call reconnect() after a backoff delay.
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { BrokerUnavailableError } from '../types.js';
import { backoffDelay, reason, type BackoffOptions } from '../shared/backoff.js';

export class MqttLink {
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private closing = false;

  private constructor(
    readonly client: MqttClient,
    private readonly backoff: BackoffOptions,
  ) {
    client.on('error', () => {}); // every error is followed by 'close', handled below
    client.on('connect', () => (this.attempt = 0));
    client.on('close', () => this.scheduleReconnect());
  }

  /** Connects once; `prepare` runs before the CONNECT goes out, so no early PUBLISH is missed. */
  static async open(
    url: string,
    options: IClientOptions,
    backoff: BackoffOptions,
    prepare?: (c: MqttClient) => void,
  ): Promise<MqttLink> {
    const client = connect(url, { ...options, reconnectPeriod: 0 });
    prepare?.(client);
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (e?: Error): void => {
          client.removeListener('connect', ok);
          reject(e ?? new Error('connection closed before CONNACK'));
        };
        const ok = (): void => {
          client.removeListener('error', fail);
          client.removeListener('close', fail);
          resolve();
        };
        client.once('connect', ok);
        client.once('error', fail);
        client.once('close', fail);
      });
    } catch (e) {
      await client.endAsync(true).catch(() => {});
      throw new BrokerUnavailableError(
        'mqtt',
        `cannot connect to ${url.replace(/\/\/[^@/]*@/, '//***@')}: ${reason(e)}`,
        { cause: e },
      );
    }
    return new MqttLink(client, backoff);
  }

  private scheduleReconnect(): void {
    if (this.closing || this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (!this.closing) this.client.reconnect();
      },
      backoffDelay(this.attempt++, this.backoff),
    );
  }

  get connected(): boolean {
    return !this.closing && this.client.connected;
  }

  /**
   * Drops the socket without waiting: a graceful end would wait for PUBACKs of publishes that
   * already timed out, and a consumer must leave unacknowledged deliveries with the broker.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.client.endAsync(true);
  }
}
