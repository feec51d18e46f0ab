// proxy_http_call and gRPC calls (reference §2.8–2.9, checklist §2.16 point 9). Calls are answered
// by the test (host.pendingCalls) or routed to a real HTTP server on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callbacks, opsPlugin, result } from './support.js';

const REQ = { ':method': 'GET', ':path': '/p', ':authority': 'svc' };
const CALL_HEADERS = ':method=POST,:path=/v1/events,:authority=bridge';
const call = (cluster: string, headers = CALL_HEADERS, body = 'hi', timeout = 1000) =>
  `http_call ${cluster} ${headers} ${body} ${timeout}`;

describe('proxy_http_call validation', () => {
  test('§2.8 an unknown cluster is BadArgument', async () => {
    const { plugin } = await opsPlugin({ configure: [call('nope')] });
    expect(result(plugin, 'configure', 'http_call')).toBe('2 0');
  });

  test.each([
    [':path=/x,:authority=a', ':method'],
    [':method=GET,:authority=a', ':path'],
    [':method=GET,:path=/x,host=a', ':authority'],
  ])('§2.8 headers %s without %s are BadArgument', async (headers) => {
    const { host } = await opsPlugin({});
    host.cluster('c');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `configure: ${call('c', headers)}`,
    });
    expect(result(plugin, 'configure', 'http_call')).toBe('2 0');
  });

  test('§2.8 a negative timeout is BadArgument; a send failure is InternalFailure', async () => {
    const { host } = await opsPlugin({});
    host.cluster('c').cluster('refusing', { sendFails: true });
    const p = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `configure: ${call('c', CALL_HEADERS, 'x', 4294967295)}; ${call('refusing')}`,
    });
    expect(result(p, 'configure', 'http_call c')).toBe('2 0');
    expect(result(p, 'configure', 'http_call refusing')).toBe('10 0');
  });

  test('§2.8 tokens are per VM and numbered 4, 8, 12 …; the body sets content-length', async () => {
    const { host } = await opsPlugin({});
    host.cluster('c');
    const p = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `configure: ${call('c')}; ${call('c')}`,
    });
    expect(results(p)).toEqual(['0 4', '0 8']);
    const c = host.pendingCalls.find((x) => x.root.vm.label === 'worker0')!;
    expect(c.headers.get('content-length')?.toString()).toBe('2');
    expect([c.method, c.path, c.authority, c.bodyText()]).toEqual(['POST', '/v1/events', 'bridge', 'hi']);

    function results(pl: typeof p) {
      return pl.logs
        .filter((l) => l.vm === 'worker0' && l.message.startsWith('configure http_call'))
        .map((l) => l.message.split('=> ')[1]);
    }
  });
});

test('§2.8 call headers are lowercased; trailers are passed along', async () => {
  const { host } = await opsPlugin({});
  host.cluster('c');
  await host.createPlugin({
    rootId: 'ops',
    pluginConfig: `configure: http_call c :method=GET,:path=/,:authority=a,X-Upper=V  100 T=1`,
  });
  const c = host.pendingCalls.find((x) => x.root.vm.label === 'worker0')!;
  expect(c.headers.get('x-upper')?.toString()).toBe('V');
  expect(c.headers.entries.map(([k]) => k)).toContain('x-upper');
  expect(c.trailers.toObject()).toEqual({ t: '1' });
});

describe('proxy_http_call responses', () => {
  test('§2.8 the call is owned by the ROOT context: the response arrives at the root id and survives the stream', async () => {
    const { host } = await opsPlugin({});
    host.cluster('c');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `request_headers: ${call('c')}\nhttp_call_response: get_header 6 :status; get_buffer 4 0 100; get_pairs 7`,
    });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.end();
    const [pending] = host.pendingCalls.filter((c) => c.root.vm.label === 'worker0');
    pending!.respond({ status: 201, headers: { 'x-a': '1' }, body: 'accepted', trailers: { t: 'v' } });
    const cb = callbacks(plugin).filter((c) => c.startsWith('http_call_response'))[0]!;
    // "ctx=<root id> <token> <n_headers<<32 | body<<16 | trailers>"
    expect(cb).toBe(`http_call_response ctx=1 4 ${(2n << 32n) | (8n << 16n) | 1n}`);
    expect(result(plugin, 'http_call_response', 'get_header 6')).toBe('0 201');
    expect(result(plugin, 'http_call_response', 'get_buffer 4')).toBe('0 accepted');
    expect(result(plugin, 'http_call_response', 'get_pairs 7')).toBe('0 t=v');
  });

  test('§2.8 response maps and body are readable only inside the callback', async () => {
    const { host } = await opsPlugin({});
    host.cluster('c');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `configure: ${call('c')}\nrequest_headers: get_header 6 :status; buffer_status 4`,
    });
    host.pendingCalls.forEach((c) => c.respond({ status: 200 }));
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'get_header 6')).toBe('2');
    expect(result(plugin, 'request_headers', 'buffer_status 4')).toMatch(/^1 /);
  });

  test('§2.8 a stream reset arrives as n_headers=0 and get_status = BrokenConnection (11) "reset"', async () => {
    const { host } = await opsPlugin({});
    host.cluster('c');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `configure: ${call('c')}\nhttp_call_response: get_status`,
    });
    host.pendingCalls.find((c) => c.root.vm.label === 'worker0')!.reset();
    expect(callbacks(plugin).find((c) => c.startsWith('http_call_response'))).toBe(
      'http_call_response ctx=1 4 0',
    );
    expect(result(plugin, 'http_call_response', 'get_status')).toBe('0 11 reset');
  });

  test('§2.8 timeout_ms elapses on the host clock ⇒ a 504 response; timeout 0 means no timeout at all', async () => {
    const { host } = await opsPlugin({});
    host.cluster('c');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `configure: ${call('c', CALL_HEADERS, 'x', 100)}; ${call('c', CALL_HEADERS, 'x', 0)}\nhttp_call_response: get_header 6 :status`,
    });
    host.advance(99);
    expect(results()).toEqual([]);
    host.advance(1);
    expect(results()).toEqual(['0 504']); // worker0's call; the canary's calls died with the canary
    host.advance(10_000_000);
    expect(host.pendingCalls.map((c) => [c.root.vm.label, c.timeoutMs])).toEqual([['worker0', 0]]);

    function results() {
      return plugin.logs
        .filter((l) => l.message.startsWith('http_call_response get_header'))
        .map((l) => l.message.split('=> ')[1]);
    }
  });

  test('§2.8 effective context: the root switches to the paused stream, edits its headers and continues it', async () => {
    const { host } = await opsPlugin({});
    host.cluster('auth');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `request_headers: ${call('auth')}; return 1\nhttp_call_response: set_effective 2; add_header 0 x-auth ok; continue 0; set_effective 99`,
    });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    expect(s.upstream.headers).toBeUndefined();
    host.pendingCalls.find((c) => c.root.vm.label === 'worker0')!.respond({ status: 200 });
    expect(result(plugin, 'http_call_response', 'add_header 0')).toBe('0');
    expect(result(plugin, 'http_call_response', 'set_effective 99')).toBe('2');
    expect(s.upstream.headers?.get('x-auth')?.toString()).toBe('ok');
    expect(s.upstream.ended).toBe(true);
  });

  test('§2.8 calls of a deleted root context are cancelled (no callback)', async () => {
    const { host } = await opsPlugin({});
    host.cluster('c');
    const plugin = await host.createPlugin({ rootId: 'ops', pluginConfig: `configure: ${call('c')}` });
    plugin.shutdown();
    expect(host.httpCalls.filter((c) => c.root.vm.label === 'worker0').map((c) => c.state)).toEqual([
      'cancelled',
    ]);
  });
});

describe('proxy_http_call to a real local HTTP server', () => {
  let server: Server;
  let base: string;
  const seen: { method?: string; url?: string; body: string; host?: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          body: Buffer.concat(chunks).toString(),
          host: req.headers.host,
        });
        if (req.url === '/hang') return; // never answers
        res.writeHead(202, { 'x-bridge': 'yes' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('§2.8 a cluster routed to a real server: the request arrives, the response reaches the root callback', async () => {
    const { host } = await opsPlugin({});
    host.cluster('sidecast_bridge', base);
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `request_headers: ${call('sidecast_bridge', CALL_HEADERS, 'evt')}\nhttp_call_response: get_header 6 :status; get_header 6 x-bridge; get_buffer 4 0 100`,
    });
    plugin.stream().requestHeaders(REQ, { endOfStream: true });
    await host.settle();
    expect(seen.at(-1)).toEqual({ method: 'POST', url: '/v1/events', body: 'evt', host: 'bridge' });
    expect(result(plugin, 'http_call_response', 'get_header 6 :status')).toBe('0 202');
    expect(result(plugin, 'http_call_response', 'get_header 6 x-bridge')).toBe('0 yes');
    expect(result(plugin, 'http_call_response', 'get_buffer 4')).toBe('0 {"ok":true}');
  });

  test('§2.8 connection refused arrives as a 503 response, not as an error status', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const { host } = await opsPlugin({});
    host.cluster('gone', `http://127.0.0.1:${port}`);
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `request_headers: ${call('gone')}\nhttp_call_response: get_header 6 :status`,
    });
    plugin.stream().requestHeaders(REQ, { endOfStream: true });
    await host.settle();
    expect(result(plugin, 'http_call_response', 'get_header 6')).toBe('0 503');
  });

  test('§2.8 a real call that outlives timeout_ms arrives as a 504 response', async () => {
    const { host } = await opsPlugin({});
    host.cluster('slow', base);
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: `request_headers: http_call slow :method=GET,:path=/hang,:authority=b  30\nhttp_call_response: get_header 6 :status`,
    });
    plugin.stream().requestHeaders(REQ, { endOfStream: true });
    await host.settle();
    expect(result(plugin, 'http_call_response', 'get_header 6')).toBe('0 504');
  });
});

describe('gRPC calls and streams (§2.9)', () => {
  test('§2.9 an unknown cluster is ParseFailure (4); call tokens are 5, 9 …, stream tokens 6, 10 …', async () => {
    const { host } = await opsPlugin({});
    host.cluster('grpc');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig:
        'configure: grpc_call nope svc.S M  msg 100; grpc_call grpc svc.S M  msg 100; grpc_call grpc svc.S M  msg 100; grpc_stream grpc svc.S Watch ',
    });
    const r = plugin.logs
      .filter((l) => l.vm === 'worker0' && l.message.startsWith('configure grpc_'))
      .map((l) => l.message.split('=> ')[1]);
    expect(r).toEqual(['4 0', '0 5', '0 9', '0 6']);
    const unary = host.grpcCalls.find((c) => c.root.vm.label === 'worker0' && !c.isStream)!;
    expect([unary.service, unary.method, unary.sent.map(String)]).toEqual(['svc.S', 'M', ['msg']]);
  });

  test('§2.9 grpc_send only on stream tokens (call token ⇒ BadArgument, unknown stream ⇒ NotFound); close/cancel per token kind', async () => {
    const { host } = await opsPlugin({});
    host.cluster('grpc');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig:
        'configure: grpc_call grpc s m  x 10; grpc_send 5 a 0; grpc_send 10 a 0; grpc_stream grpc s w ; grpc_send 6 hello 0; grpc_close 6; grpc_cancel 5; grpc_cancel 5; grpc_close 4',
    });
    const r = (op: string) =>
      plugin.logs
        .filter((l) => l.vm === 'worker0' && l.message.startsWith(`configure ${op} =>`))
        .map((l) => l.message.split('=> ')[1]);
    expect(r('grpc_send 5 a 0')).toEqual(['2']);
    expect(r('grpc_send 10 a 0')).toEqual(['1']);
    expect(r('grpc_send 6 hello 0')).toEqual(['0']);
    expect(r('grpc_close 6')).toEqual(['0']);
    expect(r('grpc_cancel 5')).toEqual(['0', '1']);
    expect(r('grpc_close 4')).toEqual(['2']);
    const stream = host.grpcCalls.find((c) => c.root.vm.label === 'worker0' && c.isStream)!;
    expect([stream.sent.map(String), stream.localClosed]).toEqual([['hello'], true]);
  });

  test('§2.9 server messages reach the root: initial metadata, message, trailing metadata, close with status', async () => {
    const { host } = await opsPlugin({});
    host.cluster('grpc');
    const plugin = await host.createPlugin({
      rootId: 'ops',
      pluginConfig: [
        'configure: grpc_stream grpc s w ',
        'grpc_initial: get_header 4 x-md',
        'grpc_receive: get_buffer 5 0 100',
        'grpc_trailing: get_pairs 5',
        'grpc_close: get_status',
      ].join('\n'),
    });
    const st = host.grpcCalls.find((c) => c.root.vm.label === 'worker0')!;
    st.receiveInitialMetadata({ 'x-md': 'm' });
    st.receive('payload');
    st.receiveTrailingMetadata({ 'grpc-message': 'bye' });
    st.close(14, 'unavailable');
    expect(
      callbacks(plugin)
        .filter((c) => c.startsWith('grpc'))
        .map((c) => c.split(' ').slice(0, 3).join(' ')),
    ).toEqual([
      'grpc_initial ctx=1 6',
      'grpc_receive ctx=1 6',
      'grpc_trailing ctx=1 6',
      'grpc_close ctx=1 6',
    ]);
    expect(result(plugin, 'grpc_initial', 'get_header 4')).toBe('0 m');
    expect(result(plugin, 'grpc_receive', 'get_buffer 5')).toBe('0 payload');
    expect(result(plugin, 'grpc_trailing', 'get_pairs 5')).toBe('0 grpc-message=bye');
    expect(result(plugin, 'grpc_close', 'get_status')).toBe('0 14 unavailable');
  });

  test('§2.9 tokens are per VM: two plugins on one host both get token 5 and stay independent', async () => {
    const { host } = await opsPlugin({});
    host.cluster('grpc');
    const cfg = 'configure: grpc_call grpc s m  x 10\ngrpc_close: get_status';
    const a = await host.createPlugin({ rootId: 'ops', name: 'a', pluginConfig: cfg });
    const b = await host.createPlugin({ rootId: 'ops', name: 'b', pluginConfig: cfg });
    const [ca, cb] = [a, b].map((p) =>
      host.grpcCalls.find((c) => c.root.plugin === p && c.root.vm.label === 'worker0')!,
    );
    expect([ca!.token, cb!.token]).toEqual([5, 5]);
    cb!.close(0, 'ok');
    expect(result(b, 'grpc_close', 'get_status')).toBe('0 0 ok');
    expect(a.logs.some((l) => l.message.startsWith('@grpc_close'))).toBe(false);
  });
});
