import type { BackoffOptions } from '../shared/backoff.js';

export interface MqttAdapterOptions {
  /** Broker URL: `mqtt://host:1883`, `mqtts://host:8883`, `ws://host:8080/mqtt`, `wss://…`. */
  url: string;
  username?: string;
  password?: string;
  /** MQTT 5 (default) or 3.1.1 (4): then ids and keys are read from the CloudEvent body. */
  protocolVersion?: 4 | 5;
  /** Levels put in front of every topic, e.g. `sidecast` -> `sidecast/acme/bank/...`. Default none. */
  topicPrefix?: string;
  /** Client ids are `<clientIdPrefix><consumer>-<replicaId>` (persistent) and `<clientIdPrefix>pub-…`. Default `sidecast-`. */
  clientIdPrefix?: string;
  /** Stable per bridge replica, so a restarted replica resumes its persistent sessions. Default: host name. */
  replicaId?: string;
  /**
   * Subscribe as `$share/<clientIdPrefix><consumer>/<filter>` so replicas compete (Mosquitto >= 2, EMQX, HiveMQ,
   * Solace, MQTT 5 brokers). false: every replica gets every event. Default true.
   */
  sharedSubscriptions?: boolean;
  /** MQTT 5 session expiry of consumer sessions: how long events wait for a detached consumer. Default 7 days. */
  sessionExpirySeconds?: number;
  /** How long publish waits for every PUBACK before rejecting. Default 5 s. */
  publishTimeoutMs?: number;
  /** Wait before the handler is offered a rejected event again. Default 1 s. */
  redeliveryDelayMs?: number;
  /** Keepalive; a handler must settle within ~1.5x this (see docs/brokers.md). Default 60 s. */
  keepaliveSeconds?: number;
  connectTimeoutMs?: number;
  reconnect?: BackoffOptions;
}
