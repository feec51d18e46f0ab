// Status mapping, buffering, limits, local replies and stream control (reference §2.6–2.7,
// checklist §2.16 point 8).
import { describe, expect, test } from '@jest/globals';
import { callbacks, opsPlugin, result } from './support.js';

const REQ = { ':method': 'POST', ':path': '/p', ':authority': 'svc' };

describe('status mapping', () => {
  test('§2.6 Pause (1) from request headers becomes StopAllIterationAndWatermark: nothing goes upstream, no body callbacks', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['return 1'] });
    const s = plugin.stream();
    expect(s.requestHeaders(REQ)).toBe('StopAllIterationAndWatermark');
    expect(s.requestBody('abc', { endOfStream: true })).toBe('Buffered');
    expect(s.upstream.headers).toBeUndefined();
    expect(callbacks(plugin).some((c) => c.startsWith('request_body'))).toBe(false);
  });

  test('§2.6 with allow_on_headers_stop_iteration, Pause stays StopIteration and body callbacks still run', async () => {
    const { plugin } = await opsPlugin(
      { request_headers: ['return 1'] },
      { allowOnHeadersStopIteration: true },
    );
    const s = plugin.stream();
    expect(s.requestHeaders(REQ)).toBe('StopIteration');
    expect(s.requestBody('abc', { endOfStream: true })).toBe('Continue');
    expect(s.upstream.headers?.get(':path')?.toString()).toBe('/p');
    expect(s.upstream.body.toString()).toBe('abc');
  });

  test('§2.6 header status values above 4 become StopAllIterationAndWatermark; 2 (ContinueAndEndStream) maps to Continue', async () => {
    const a = await opsPlugin({ request_headers: ['return 9'] });
    expect(a.plugin.stream().requestHeaders(REQ)).toBe('StopAllIterationAndWatermark');
    const b = await opsPlugin({ request_headers: ['return 2'] });
    expect(b.plugin.stream().requestHeaders(REQ)).toBe('Continue');
  });

  test('§2.6 body StopIterationAndBuffer accumulates: the next on_request_body gets the TOTAL size and reads the whole body', async () => {
    const { plugin } = await opsPlugin({ request_body: ['get_buffer 0 0 100', 'return 1'] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(s.requestBody('abc')).toBe('StopIterationAndBuffer');
    s.requestBody('def');
    expect(
      callbacks(plugin)
        .filter((c) => c.startsWith('request_body'))
        .map((c) => c.split(' ').slice(2).join(' ')),
    ).toEqual(['3 0', '6 0']);
    expect(result(plugin, 'request_body', 'get_buffer', 1)).toBe('0 abcdef');
    expect(s.upstream.body.length).toBe(0);
  });

  test('§2.6 a body held with StopIterationAndBuffer goes upstream whole when the filter continues the stream', async () => {
    const { host, plugin } = await opsPlugin({
      request_body: ['set_tick 5', 'return 1'],
      tick: ['set_effective 2', 'continue 0', 'set_tick 0'],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.requestBody('abc');
    s.requestBody('def', { endOfStream: true });
    expect(s.upstream.body.toString()).toBe('');
    host.advance(5);
    expect(s.upstream.body.toString()).toBe('abcdef');
    expect(s.upstream.ended).toBe(true);
  });

  test('§2.6 data status values above 3 become StopIterationNoBuffer (the chunk is not kept)', async () => {
    const { plugin } = await opsPlugin({ request_body: ['return 7'] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(s.requestBody('abc')).toBe('StopIterationNoBuffer');
  });

  test('§2.6 set_buffer_bytes: start 0 replaces/prepends, start ≥ size appends, anything else BadArgument', async () => {
    const { plugin } = await opsPlugin({
      request_body: [
        'set_buffer 0 0 3 XYZ',
        'set_buffer 0 99 0 !',
        'set_buffer 0 1 1 q',
        'set_buffer 0 0 0 >',
      ],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.requestBody('abcdef', { endOfStream: true });
    expect(results()).toEqual(['0', '0', '2', '0']);
    expect(s.upstream.body.toString()).toBe('>XYZdef!');

    function results() {
      return ['set_buffer 0 0 3', 'set_buffer 0 99', 'set_buffer 0 1', 'set_buffer 0 0 0'].map((op) =>
        result(plugin, 'request_body', op),
      );
    }
  });

  test("§2.6 get_buffer_bytes clamps to the buffer; start past the end ⇒ Ok, ptr 0, len 0 (also for start near 2^32: cpp-host's overflow check uses 64-bit words)", async () => {
    const { plugin } = await opsPlugin({
      request_body: ['get_buffer 0 2 100', 'get_buffer 0 50 10', 'get_buffer 0 4294967295 2'],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.requestBody('abcdef', { endOfStream: true });
    expect(result(plugin, 'request_body', 'get_buffer 0 2')).toBe('0 cdef');
    expect(result(plugin, 'request_body', 'get_buffer 0 50')).toBe('0 ptr0');
    expect(result(plugin, 'request_body', 'get_buffer 0 4294967295')).toBe('0 ptr0');
  });

  test('§2.6 the request body is NotFound outside body callbacks; buffer type > 8 is BadArgument', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['buffer_status 0', 'buffer_status 9'] });
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'buffer_status 0')).toMatch(/^1 /);
    expect(result(plugin, 'request_headers', 'buffer_status 9')).toMatch(/^2 /);
  });

  test('§2.6 exceeding the buffer limit while buffering the request ⇒ 413 local reply', async () => {
    const { plugin } = await opsPlugin({ request_body: ['return 1'] }, { bufferLimitBytes: 8 });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.requestBody('12345');
    s.requestBody('67890');
    expect(s.localReply).toMatchObject({ status: 413, details: 'request_payload_too_large', byEnvoy: true });
  });

  test('§2.6 StopAllIterationAndBuffer (3) from headers: Envoy buffers the body and answers 413 past the limit', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['return 3'] }, { bufferLimitBytes: 4 });
    const s = plugin.stream();
    expect(s.requestHeaders(REQ)).toBe('StopAllIterationAndBuffer');
    expect(s.requestBody('1234')).toBe('Buffered');
    s.requestBody('5');
    expect(s.localReply).toMatchObject({ status: 413, details: 'request_payload_too_large' });
  });

  test('§2.6 Pause from response headers holds the response until continue_stream(HttpResponse); the held body is then dispatched', async () => {
    const { host, plugin } = await opsPlugin({
      response_headers: ['set_tick 10', 'return 1'],
      tick: ['set_effective 2', 'continue 1', 'set_tick 0'],
      response_body: ['get_buffer 1 0 100'],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    expect(s.responseHeaders({ ':status': '200' })).toBe('StopAllIterationAndWatermark');
    s.responseBody('payload', { endOfStream: true });
    expect(s.downstream.headers).toBeUndefined();
    host.advance(10);
    expect(result(plugin, 'response_body', 'get_buffer')).toBe('0 payload');
    expect(s.downstream.headers?.get(':status')?.toString()).toBe('200');
    expect([s.downstream.body.toString(), s.downstream.ended]).toEqual(['payload', true]);
  });

  test('§2.6 exceeding the buffer limit while buffering the response (headers not yet sent) ⇒ 500', async () => {
    const { plugin } = await opsPlugin(
      { response_headers: ['return 1'], response_body: ['return 1'] },
      { bufferLimitBytes: 8, allowOnHeadersStopIteration: true },
    );
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.responseHeaders({ ':status': '200' });
    s.responseBody('1234567890');
    expect(s.localReply).toMatchObject({ status: 500, details: 'response_payload_too_large' });
  });

  test('§2.6 exceeding the response buffer limit after response headers went downstream resets the stream', async () => {
    const { plugin } = await opsPlugin({ response_body: ['return 1'] }, { bufferLimitBytes: 8 });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.responseHeaders({ ':status': '200' });
    s.responseBody('1234567890');
    expect(s.resetReason).toBe('response_payload_too_large');
    expect(s.localReply).toBeUndefined();
  });
});

describe('local replies and stream control', () => {
  test('§2.7 send_local_response is deferred until the callback returns; the status is overridden to StopAll', async () => {
    const { plugin } = await opsPlugin({
      request_headers: ['local_reply 403 denied by%20policy x-why=policy', 'get_header 0 :path', 'return 0'],
    });
    const s = plugin.stream();
    expect(s.requestHeaders(REQ)).toBe('StopAllIterationAndWatermark');
    // the callback kept running after the call (deferred), so the header read still worked
    expect(result(plugin, 'request_headers', 'get_header 0')).toBe('0 /p');
    expect(s.localReply).toMatchObject({ status: 403, body: 'denied', details: 'by_policy', byEnvoy: false });
    expect(s.localReply?.headers).toMatchObject({
      ':status': '403',
      'x-why': 'policy',
      'content-length': '6',
    });
    expect(s.upstream.headers).toBeUndefined();
  });

  test("§2.7 a local reply travels through the same filter's on_response_headers", async () => {
    const { plugin } = await opsPlugin({
      request_headers: ['local_reply 401 no auth'],
      response_headers: ['get_header 2 :status'],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(result(plugin, 'response_headers', 'get_header 2')).toBe('0 401');
    expect(s.downstream.headers?.get(':status')?.toString()).toBe('401');
    expect(s.downstream.body.toString()).toBe('no');
  });

  test('§2.7 grpc_status 0..16 is kept for gRPC requests; outside it (-1) the grpc-status is mapped from the HTTP status', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['local_reply 200 x d  7'] });
    const s = plugin.stream();
    s.requestHeaders({ ...REQ, 'content-type': 'application/grpc' });
    expect(s.localReply?.grpcStatus).toBe(7);
    expect(s.localReply?.headers['grpc-status']).toBe('7');
    const p2 = await opsPlugin({ request_headers: ['local_reply 200 x d  -1'] });
    const s2 = p2.plugin.stream();
    s2.requestHeaders({ ...REQ, 'content-type': 'application/grpc' });
    expect(s2.localReply?.grpcStatus).toBeUndefined();
    expect(s2.localReply?.headers['grpc-status']).toBe('2'); // httpToGrpcStatus(200) = UNKNOWN
  });

  test('§2.6 send_local_response from a body callback overrides the data status to StopIterationNoBuffer', async () => {
    const { plugin } = await opsPlugin({ request_body: ['local_reply 400 bad d', 'return 0'] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(s.requestBody('x', { endOfStream: true })).toBe('StopIterationNoBuffer');
    expect(s.localReply?.status).toBe(400);
  });

  test('§2.7 continue_stream is deferred: resumes after the callback returns; buffered body is then dispatched to the filter', async () => {
    const { host, plugin } = await opsPlugin({
      request_headers: ['set_tick 10', 'return 1'],
      tick: ['set_effective 2', 'continue 0'],
      request_body: ['get_buffer 0 0 100'],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.requestBody('held', { endOfStream: true });
    expect(s.upstream.headers).toBeUndefined();
    host.advance(10);
    expect(result(plugin, 'tick', 'continue 0')).toBe('0');
    expect(result(plugin, 'request_body', 'get_buffer')).toBe('0 held');
    expect(s.upstream.headers?.get(':path')?.toString()).toBe('/p');
    expect(s.upstream.body.toString()).toBe('held');
    expect(s.upstream.ended).toBe(true);
  });

  test('§2.7 continue_stream(Upstream) is Unimplemented; stream type > 3 is BadArgument', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['continue 3', 'continue 4', 'close 9'] });
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'continue 3')).toBe('12');
    expect(result(plugin, 'request_headers', 'continue 4')).toBe('2');
    expect(result(plugin, 'request_headers', 'close 9')).toBe('2');
  });

  test('§2.7 close_stream resets the stream after the callback (details wasm_close_stream)', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['close 0'] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(s.resetReason).toBe('wasm_close_stream');
    expect(s.requestBody('x')).toBe('Skipped');
  });

  test('§2.7 a local reply after response headers went downstream can only reset the stream', async () => {
    const { plugin } = await opsPlugin({ response_body: ['local_reply 500 late d'] });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.responseHeaders({ ':status': '200' });
    s.responseBody('x', { endOfStream: true });
    expect(s.resetReason).toBe('d');
    expect(s.localReply).toBeUndefined();
  });
});
