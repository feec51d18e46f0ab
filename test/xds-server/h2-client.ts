// A raw HTTP/2 gRPC client of one discovery method (node:http2, no grpc-js): it controls its own
// flow-control window, so it can stop reading like a wedged proxy — from the start (window 0) or
// after syncing (`stick()`). Used by the slow-client protocol tests and the fan-out bench.
import http2 from 'node:http2';
import type protobuf from 'protobufjs';
import { envoyRoot } from '../../proto/envoy.js';

const t = (name: string): protobuf.Type => envoyRoot().lookupType(`envoy.service.discovery.v3.${name}`);

export interface H2Options {
  /** Start with an HTTP/2 stream window of 0: the server cannot send a single response byte. */
  zeroWindow?: boolean;
  delta?: boolean;
}

export class H2DiscoveryStream {
  readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  private readonly reqType: protobuf.Type;
  private readonly resType: protobuf.Type;
  private buffered = Buffer.alloc(0);
  onResponse: ((r: Record<string, unknown>) => void) | undefined;
  /** Set when the server sent GOAWAY on this connection. */
  goaway = false;
  /** gRPC status from the trailers, once the stream ended. */
  status: number | undefined;
  readonly ended: Promise<void>;

  constructor(address: string, opts: H2Options = {}) {
    const delta = !!opts.delta;
    this.reqType = t(delta ? 'DeltaDiscoveryRequest' : 'DiscoveryRequest');
    this.resType = t(delta ? 'DeltaDiscoveryResponse' : 'DiscoveryResponse');
    this.session = http2.connect(`http://${address}`, {
      settings: opts.zeroWindow ? { initialWindowSize: 0 } : {},
    });
    this.session.on('error', () => undefined); // a refused/closed session shows as the stream ending
    this.session.on('goaway', () => (this.goaway = true));
    const method = delta ? 'DeltaAggregatedResources' : 'StreamAggregatedResources';
    this.stream = this.session.request({
      ':method': 'POST',
      ':path': `/envoy.service.discovery.v3.AggregatedDiscoveryService/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    this.stream.on('data', (chunk: Buffer) => this.read(chunk));
    this.stream.on('error', () => undefined);
    this.stream.on('trailers', (h) => (this.status = Number(h['grpc-status'])));
    this.ended = new Promise((resolve) => this.stream.on('close', () => resolve()));
  }

  send(req: Record<string, unknown>): void {
    const body = this.reqType.encode(this.reqType.fromObject(req)).finish();
    const head = Buffer.alloc(5);
    head.writeUInt32BE(body.length, 1);
    this.stream.write(Buffer.concat([head, body]));
  }

  /** Stops reading: the window drops to 0 and nothing more is consumed (a wedged client). */
  stick(): void {
    this.session.settings({ initialWindowSize: 0 });
    this.stream.pause();
    this.onResponse = undefined;
  }

  close(): void {
    this.stream.close();
    this.session.destroy();
  }

  private read(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 5) {
      const len = this.buffered.readUInt32BE(1);
      if (this.buffered.length < 5 + len) return;
      const msg = this.buffered.subarray(5, 5 + len);
      this.buffered = this.buffered.subarray(5 + len);
      this.onResponse?.(this.resType.toObject(this.resType.decode(msg)) as Record<string, unknown>);
    }
  }
}
