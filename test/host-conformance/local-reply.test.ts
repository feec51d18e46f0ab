// A local reply (proxy_send_local_response) renders the way Envoy's Http::Utility::prepareLocalReply
// and encodeLocalReply do (source/common/http/utility.cc): one test per difference the audit found.
import { describe, expect, test } from '@jest/globals';
import type { Stream } from '../host/index.js';
import { opsPlugin } from './support.js';

const REQ = { ':method': 'POST', ':path': '/p', ':authority': 'svc' };
const GRPC = { ...REQ, 'content-type': 'application/grpc' };

/** Runs `local_reply <args>` from on_request_headers and returns the stream. */
async function reply(args: string, request: Record<string, string> = REQ): Promise<Stream> {
  const { plugin } = await opsPlugin({ request_headers: [`local_reply ${args}`] });
  const s = plugin.stream();
  s.requestHeaders(request, { endOfStream: true });
  return s;
}

const all = (s: Stream, name: string): string[] =>
  (s.downstream.headers?.entries ?? []).filter(([k]) => k === name).map(([, v]) => v.toString());

describe('local reply headers and body, as Envoy renders them', () => {
  test('a content-type set by the filter is the only content-type (text/plain only when none is set)', async () => {
    const s = await reply('400 {} d content-type=application/json');
    expect(all(s, 'content-type')).toEqual(['application/json']);
    const plain = await reply('400 oops d');
    expect(all(plain, 'content-type')).toEqual(['text/plain']);
  });

  test('content-length is set from the body, replacing one the filter sent', async () => {
    const s = await reply('400 four d content-length=99');
    expect(all(s, 'content-length')).toEqual(['4']);
    expect(s.downstream.body.toString()).toBe('four');
  });

  test('an empty body removes content-length and content-type, even the filter’s', async () => {
    const s = await reply('204  d content-type=application/json,content-length=5,x-kept=1');
    expect(all(s, 'content-type')).toEqual([]);
    expect(all(s, 'content-length')).toEqual([]);
    expect(all(s, 'x-kept')).toEqual(['1']);
    expect(s.downstream.ended).toBe(true);
    expect(s.downstream.body.length).toBe(0);
  });

  test('body bytes are sent as the filter gave them, content-length counting bytes', async () => {
    const s = await reply('400 a%FFb%00 d');
    expect([...s.downstream.body]).toEqual([0x61, 0xff, 0x62, 0x00]);
    expect(all(s, 'content-length')).toEqual(['4']);
  });

  test('a HEAD request gets the headers (with content-length) and no body', async () => {
    const s = await reply('403 denied d', { ...REQ, ':method': 'HEAD' });
    expect(all(s, ':status')).toEqual(['403']);
    expect(all(s, 'content-length')).toEqual(['6']);
    expect(s.downstream.body.length).toBe(0);
    expect(s.downstream.ended).toBe(true);
  });

  test('gRPC: trailers-only answer — :status 200, application/grpc, grpc-status, grpc-message, no body', async () => {
    const s = await reply('403 no%20way%25 d content-type=text/html,content-length=3 7', GRPC);
    expect(all(s, ':status')).toEqual(['200']);
    expect(all(s, 'content-type')).toEqual(['application/grpc']);
    expect(all(s, 'grpc-status')).toEqual(['7']);
    expect(all(s, 'grpc-message')).toEqual(['no way%25']);
    expect(all(s, 'content-length')).toEqual([]);
    expect(s.downstream.body.length).toBe(0);
    expect(s.downstream.ended).toBe(true);
    expect(s.localReply).toMatchObject({ status: 403, grpcStatus: 7 });
  });

  test('gRPC without a grpc_status (-1): grpc-status is mapped from the HTTP status', async () => {
    for (const [status, grpc] of [
      [400, '13'],
      [401, '16'],
      [403, '7'],
      [404, '12'],
      [429, '14'],
      [503, '14'],
      [418, '2'],
    ] as const) {
      const s = await reply(`${status} x d  -1`, GRPC);
      expect([status, all(s, 'grpc-status')]).toEqual([status, [grpc]]);
    }
  });

  test('gRPC: a grpc-status the filter set is kept, not replaced', async () => {
    const s = await reply('503 x d grpc-status=9 14', { ...REQ, 'content-type': 'application/grpc+proto' });
    expect(all(s, 'grpc-status')).toEqual(['9']);
  });

  test('application/grpc-web is not gRPC: an ordinary reply with its body', async () => {
    const s = await reply('403 denied d  7', { ...REQ, 'content-type': 'application/grpc-web' });
    expect(all(s, ':status')).toEqual(['403']);
    expect(all(s, 'grpc-status')).toEqual([]);
    expect(s.downstream.body.toString()).toBe('denied');
  });
});
