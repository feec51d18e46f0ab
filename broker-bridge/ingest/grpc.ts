// gRPC ingest: sidecast.v1.Ingest/Publish over the CloudEvents protobuf format. The request is
// decoded here rather than by grpc-js, so a malformed message gets INVALID_ARGUMENT with the decode
// error instead of a generic INTERNAL.

import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { sidecastRoot } from '../../proto/sidecast.js';
import type { Authenticator } from '../auth/producers.js';
import { IngestRequestError } from '../validate/request-errors.js';
import { structuredFromProto, type ProtoCloudEvent } from './protobuf-event.js';
import type { EventResult, IngestService } from './service.js';

export const INGEST_METHOD = '/sidecast.v1.Ingest/Publish';

const STATUS_OF: Record<IngestRequestError['status'], grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  413: grpc.status.INVALID_ARGUMENT,
  415: grpc.status.INVALID_ARGUMENT,
  503: grpc.status.UNAVAILABLE,
};

function types() {
  const root = sidecastRoot();
  return {
    batch: root.lookupType('io.cloudevents.v1.CloudEventBatch'),
    response: root.lookupType('sidecast.v1.PublishResponse'),
  };
}

/** Encodes results as sidecast.v1.PublishResponse. */
export function encodeResults(results: EventResult[]): Buffer {
  const { response } = types();
  const msg = response.fromObject({
    results: results.map((r) =>
      r.status === 'accepted'
        ? { id: r.id, status: 'ACCEPTED' }
        : { id: r.id, status: 'REJECTED', reason: r.reason },
    ),
  });
  return Buffer.from(response.encode(msg).finish());
}

export interface GrpcTls {
  key: string | Buffer;
  cert: string | Buffer;
  /** When set, clients must present a certificate that chains to it. */
  ca?: string | Buffer;
}

export function grpcCredentials(tls?: GrpcTls): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const key = Buffer.from(tls.key);
  const cert = Buffer.from(tls.cert);
  return grpc.ServerCredentials.createSsl(
    tls.ca ? Buffer.from(tls.ca) : null,
    [{ private_key: key, cert_chain: cert }],
    tls.ca !== undefined,
  );
}

export function createGrpcIngest(service: IngestService, auth: Authenticator): grpc.Server {
  const { batch } = types();
  const definition: grpc.ServiceDefinition = {
    Publish: {
      path: INGEST_METHOD,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  const publish: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    void (async () => {
      try {
        if (call.request.length > service.limits.maxBatchBytes) {
          throw new IngestRequestError(
            413,
            `CloudEventBatch of ${call.request.length} bytes is over the ${service.limits.maxBatchBytes}-byte limit (limits.maxBatchBytes); split it`,
          );
        }
        const token = call.metadata.get('authorization')[0];
        const cert = call.getAuthContext()?.sslPeerCertificate as PeerCertificate | undefined;
        const xfcc = call.metadata.get('x-forwarded-client-cert')[0];
        const producer = auth.identify({
          authorization: typeof token === 'string' ? token : undefined,
          peerCertificate: cert,
          forwardedClientCert: typeof xfcc === 'string' ? xfcc : undefined,
        });
        let decoded: { events?: ProtoCloudEvent[] };
        try {
          decoded = batch.toObject(batch.decode(call.request), {
            oneofs: true,
            longs: Number,
          }) as typeof decoded;
        } catch (e) {
          throw new IngestRequestError(
            400,
            `request is not a valid io.cloudevents.v1.CloudEventBatch protobuf: ${(e as Error).message}`,
          );
        }
        const events = (decoded.events ?? []).map((e, i) => structuredFromProto(e, `event #${i}`));
        callback(null, encodeResults(await service.ingest(producer, events, 'grpc')));
      } catch (e) {
        if (e instanceof IngestRequestError) {
          const trailers = new grpc.Metadata();
          if (e.retryAfter !== undefined) trailers.set('retry-after', String(e.retryAfter));
          callback({ code: STATUS_OF[e.status], details: e.message, metadata: trailers });
          return;
        }
        callback({ code: grpc.status.INTERNAL, details: `internal error: ${(e as Error).message}` });
      }
    })();
  };
  // Let a little more than the limit through grpc-js, so oversize batches get our explicit error.
  const server = new grpc.Server({
    'grpc.max_receive_message_length': service.limits.maxBatchBytes + 64 * 1024,
  });
  server.addService(definition, { Publish: publish });
  return server;
}
