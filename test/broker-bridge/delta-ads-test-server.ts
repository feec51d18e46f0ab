// A wire-level delta ADS server for the xDS client's unit tests: real gRPC, real Envoy discovery
// messages, with the test deciding what each response contains. (The real xds-server is exercised
// by test/e2e.)
import * as grpc from '@grpc/grpc-js';
import {
  adsClientConstructor,
  type DeltaRequest,
  type DeltaResponse,
} from '../../broker-bridge/xds/discovery-proto.js';

export interface TestStream {
  requests: DeltaRequest[];
  send(res: Omit<DeltaResponse, 'nonce'> & { nonce?: string }): string;
  /** Resolves with the next request (or one already received and not yet taken). */
  next(timeoutMs?: number): Promise<DeltaRequest>;
  end(): void;
}

export class DeltaAdsTestServer {
  readonly streams: TestStream[] = [];
  private server = new grpc.Server();
  private waiters: Array<(s: TestStream) => void> = [];
  private nonce = 0;
  port = 0;

  async start(port = 0): Promise<number> {
    this.server = new grpc.Server();
    this.server.addService(adsClientConstructor().service, {
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaRequest, DeltaResponse>) =>
        this.onStream(call),
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) =>
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'delta only' }),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    return this.port;
  }

  nextStream(timeoutMs = 5000): Promise<TestStream> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no new ADS stream within ${timeoutMs}ms`)), timeoutMs);
      this.waiters.push((s) => {
        clearTimeout(t);
        resolve(s);
      });
    });
  }

  stop(): void {
    this.server.forceShutdown();
  }

  private onStream(call: grpc.ServerDuplexStream<DeltaRequest, DeltaResponse>): void {
    const pending: DeltaRequest[] = [];
    const readers: Array<(r: DeltaRequest) => void> = [];
    const s: TestStream = {
      requests: [],
      send: (res) => {
        const nonce = res.nonce ?? `n${++this.nonce}`;
        call.write({ ...res, nonce });
        return nonce;
      },
      next: (timeoutMs = 5000) =>
        new Promise((resolve, reject) => {
          const got = pending.shift();
          if (got) return resolve(got);
          const t = setTimeout(() => reject(new Error(`no request within ${timeoutMs}ms`)), timeoutMs);
          readers.push((r) => {
            clearTimeout(t);
            resolve(r);
          });
        }),
      end: () => call.end(),
    };
    call.on('data', (r: DeltaRequest) => {
      s.requests.push(r);
      const reader = readers.shift();
      if (reader) reader(r);
      else pending.push(r);
    });
    call.on('error', () => {});
    this.streams.push(s);
    const w = this.waiters.shift();
    w?.(s);
  }
}
