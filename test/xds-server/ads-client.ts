// A raw ADS client over grpc-js and Envoy's discovery protos (SotW and delta), for protocol tests
// and the fan-out benchmark. It does exactly what the test tells it: no automatic ACKs.
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { envoyRoot } from '../../proto/envoy.js';

export interface AnyMsg {
  type_url: string;
  value: Uint8Array;
}
export interface SotwResponseMsg {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: AnyMsg[];
  control_plane?: { identifier: string };
}
export interface DeltaResponseMsg {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: Array<{ name: string; version: string; resource: AnyMsg }>;
  removed_resources: string[];
  control_plane?: { identifier: string };
}

export interface NodeJson {
  id: string;
  cluster?: string;
  user_agent_name?: string;
  metadata?: { fields: Record<string, { stringValue: string }> };
}

type Obj = Record<string, unknown>;

const t = (name: string): protobuf.Type => envoyRoot().lookupType(`envoy.service.discovery.v3.${name}`);
const encode = (type: protobuf.Type, obj: Obj): Buffer =>
  Buffer.from(type.encode(type.fromObject(obj)).finish());
const decode = <T>(type: protobuf.Type, b: Buffer): T => type.decode(b) as unknown as T;

const ADS = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';

export function adsClient(address: string, options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), options);
}

/** One bidi stream; responses are queued (`next()`) or handed to `onResponse` when set. */
export class RawStream<Req extends Obj, Res> {
  private readonly queue: Res[] = [];
  private readonly waiters: Array<{
    resolve: (r: Res) => void;
    reject: (e: Error) => void;
    timer: NodeJS.Timeout;
  }> = [];
  private readonly call: grpc.ClientDuplexStream<Req, Res>;
  ended: grpc.StatusObject | undefined;
  onResponse: ((r: Res) => void) | undefined;

  constructor(client: grpc.Client, path: string, reqType: protobuf.Type, resType: protobuf.Type) {
    this.call = client.makeBidiStreamRequest(
      path,
      (r: Req) => encode(reqType, r),
      (b: Buffer) => decode<Res>(resType, b),
    );
    this.call.on('data', (r: Res) => {
      if (this.onResponse) return this.onResponse(r);
      const w = this.waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.resolve(r);
      } else this.queue.push(r);
    });
    this.call.on('status', (s) => {
      this.ended = s;
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`stream ended: ${s.code} ${s.details}`));
      }
    });
    this.call.on('error', () => undefined); // surfaced through 'status'
  }

  send(req: Req): void {
    this.call.write(req);
  }

  /** The next response (waits up to `timeoutMs`: a missing response is a protocol failure). */
  next(timeoutMs = 5000): Promise<Res> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended)
      return Promise.reject(new Error(`stream ended: ${this.ended.code} ${this.ended.details}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  /** Resolves with the final status once the server ends the stream. */
  status(timeoutMs = 5000): Promise<grpc.StatusObject> {
    return new Promise((resolve, reject) => {
      if (this.ended) return resolve(this.ended);
      const timer = setTimeout(() => reject(new Error(`stream not ended within ${timeoutMs} ms`)), timeoutMs);
      this.call.on('status', (s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  close(): void {
    this.call.cancel();
  }
}

export type SotwStream = RawStream<Obj, SotwResponseMsg>;
export type DeltaStream = RawStream<Obj, DeltaResponseMsg>;

export function sotwStream(client: grpc.Client, path = `${ADS}StreamAggregatedResources`): SotwStream {
  return new RawStream(client, path, t('DiscoveryRequest'), t('DiscoveryResponse'));
}

export function deltaStream(client: grpc.Client, path = `${ADS}DeltaAggregatedResources`): DeltaStream {
  return new RawStream(client, path, t('DeltaDiscoveryRequest'), t('DeltaDiscoveryResponse'));
}

/** An ACK of a SotW response (same names, its version and nonce). */
export const sotwAck = (res: SotwResponseMsg, names: string[]): Obj => ({
  type_url: res.type_url,
  version_info: res.version_info,
  response_nonce: res.nonce,
  resource_names: names,
});

/** A NACK of a SotW response: last accepted version, its nonce, error_detail. */
export const sotwNack = (res: SotwResponseMsg, names: string[], accepted: string, message: string): Obj => ({
  type_url: res.type_url,
  version_info: accepted,
  response_nonce: res.nonce,
  resource_names: names,
  error_detail: { code: 3, message },
});
