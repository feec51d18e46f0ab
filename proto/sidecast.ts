// sidecast's own protos (proto/sidecast/v1/*.proto), loaded once with protobufjs.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ProtoChecker, typeUrlOf } from './check.js';
import { loadProtoRoot } from './envoy.js';

const protoDir = fileURLToPath(new URL('.', import.meta.url));
const v1 = fileURLToPath(new URL('./sidecast/v1/', import.meta.url));

export const SUBSCRIPTION_TYPE_URL = typeUrlOf('sidecast.v1.Subscription');
export const EVENT_CONTRACT_TYPE_URL = typeUrlOf('sidecast.v1.EventContract');

let root: protobuf.Root | undefined;
let checker: ProtoChecker | undefined;

/** Root with every proto/sidecast/v1/*.proto (google/protobuf imports come bundled with protobufjs). */
export function sidecastRoot(): protobuf.Root {
  root ??= loadProtoRoot(
    readdirSync(v1)
      .filter((f) => f.endsWith('.proto'))
      .sort()
      .map((f) => `sidecast/v1/${f}`),
    [protoDir],
  );
  return root;
}

/** Strict checker over sidecast's protos (proto3 JSON in, bytes out, and back). */
export function sidecastChecker(): ProtoChecker {
  checker ??= new ProtoChecker(sidecastRoot());
  return checker;
}

/** Proto3 JSON form of sidecast.v1.Subscription (snake_case, durations as "5s"). */
export interface SubscriptionJson {
  name: string;
  service: string;
  topics: string[];
  delivery?: {
    url: string;
    timeout?: string;
    retry?: {
      attempts?: number;
      backoff?: 'EXPONENTIAL' | 'LINEAR';
      base_delay?: string;
      max_delay?: string;
      retry_after_cap?: string;
    };
    ordered_by_key?: boolean;
    concurrency?: number;
    batch?: { max_events?: number; max_wait?: string };
  };
  dead_letter_topic?: string;
  filter?: string;
  routes?: Array<{ filter: string; url: string }>;
}

export const encodeSubscription = (s: SubscriptionJson): Uint8Array =>
  sidecastChecker().encode('sidecast.v1.Subscription', s, `Subscription ${s.name}`);

export const decodeSubscription = (bytes: Uint8Array): SubscriptionJson =>
  sidecastChecker().decode('sidecast.v1.Subscription', bytes, 'Subscription') as unknown as SubscriptionJson;

/** Proto3 JSON form of sidecast.v1.EventContract. */
export interface EventContractJson {
  name: string;
  type: string;
  schema_json: string;
  schema_id: string;
  policy?: 'REJECT' | 'DEAD_LETTER' | 'WARN';
  dead_letter_topic?: string;
}

export const encodeEventContract = (c: EventContractJson): Uint8Array =>
  sidecastChecker().encode('sidecast.v1.EventContract', c, `EventContract ${c.name}`);

export const decodeEventContract = (bytes: Uint8Array): EventContractJson =>
  sidecastChecker().decode('sidecast.v1.EventContract', bytes, 'EventContract') as unknown as EventContractJson;
