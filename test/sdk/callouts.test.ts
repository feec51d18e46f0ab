// Callout results reach the context that issued the call (SDK token→context table + effective
// context), else its root; failures come back as values. Probe: test/sdk/probes/sdk-callouts.ts.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ProxyWasmHost } from '../host/index.js';

const PROBE = fileURLToPath(new URL('../../build/sdk-probes/sdk-callouts.wasm', import.meta.url));

let server: Server;
let serverUrl = '';
const seen: { path?: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ path: req.url, body });
      res.writeHead(202, { 'content-type': 'text/plain' }).end(`pong:${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function setup(pluginConfig = '') {
  const host = await ProxyWasmHost.load(PROBE);
  host.cluster('bridge').cluster('real', serverUrl).cluster('grpc_echo');
  const p = await host.createPlugin({ name: 'callouts', pluginConfig });
  return { host, p };
}

const REQUEST = { ':method': 'POST', ':path': '/accounts', ':authority': 'bank' };

describe('http_call', () => {
  test('the response is delivered to the issuing stream, which edits its paused request and resumes it', async () => {
    const { host, p } = await setup();
    const s = p.stream();
    expect(s.requestHeaders({ ...REQUEST, 'x-call': 'bridge' }, { endOfStream: true })).toBe(
      'StopAllIterationAndWatermark',
    );
    expect(s.upstream.headers).toBeUndefined();
    const [call] = await host.waitForCalls(1);
    expect(call!.path).toBe('/check');
    expect(call!.bodyText()).toBe('ping');
    call!.respond({ status: 200, body: 'ok-body' });
    expect(s.upstream.headers?.get('x-call-status')?.toString()).toBe('200');
    expect(s.upstream.headers?.get('x-call-body')?.toString()).toBe('ok-body');
    s.responseHeaders({ ':status': '200' }, { endOfStream: true });
    expect(s.downstream.headers?.get('x-r-call-status')?.toString()).toBe('0');
    expect(s.downstream.headers?.get('x-r-pending-callouts')?.toString()).toBe('0'); // token forgotten after delivery
    s.end();
  });

  test('a call routed to a real local HTTP server completes the same way', async () => {
    const { host, p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-call': 'real' }, { endOfStream: true });
    await host.settle();
    expect(seen.at(-1)).toEqual({ path: '/check', body: 'ping' });
    expect(s.upstream.headers?.get('x-call-status')?.toString()).toBe('202');
    expect(s.upstream.headers?.get('x-call-body')?.toString()).toBe('pong:ping');
    s.end();
  });

  test('a reset call (no headers) lets the stream answer locally with get_status details', async () => {
    const { host, p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-call': 'bridge' }, { endOfStream: true });
    (await host.waitForCalls(1))[0]!.reset();
    expect(s.localReply?.status).toBe(503);
    expect(s.localReply?.body).toBe('callout failed: reset');
    expect(s.localReply?.headers['x-r-failure-code']).toBe('11'); // BrokenConnection
    s.end();
  });

  test('an unknown cluster is a BadArgument status returned to the caller, not a trap', async () => {
    const { p } = await setup();
    const s = p.stream();
    expect(s.requestHeaders({ ...REQUEST, 'x-call': 'no_such_cluster' }, { endOfStream: true })).toBe(
      'Continue',
    );
    s.responseHeaders({ ':status': '200' }, { endOfStream: true });
    expect(s.downstream.headers?.get('x-r-call-status')?.toString()).toBe('2');
    expect(p.vm().failed).toBeNull();
  });

  test('when the issuing stream is gone the root gets the response (the call outlives the request)', async () => {
    const { host, p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-fire': 'bridge' }, { endOfStream: true });
    s.responseHeaders({ ':status': '200' }, { endOfStream: true });
    s.end();
    const [call] = await host.waitForCalls(1);
    call!.respond({ status: 204 });
    expect(p.messages('info')).toContain(
      `root got response token ${call!.token} status 204 headers 1 pending 0`,
    );
  });

  test('calls issued by the root from on_tick come back to the root', async () => {
    const { host, p } = await setup('bridge');
    host.advance(1000);
    const [call] = await host.waitForCalls(1);
    expect(call!.path).toBe('/tick');
    call!.respond({ status: 200 });
    expect(p.messages('info')).toEqual(
      expect.arrayContaining([
        `root tick call status 0 token ${call!.token}`,
        `root got response token ${call!.token} status 200 headers 1 pending 0`,
      ]),
    );
  });
});

describe('gRPC', () => {
  test('unary call: metadata, message and close reach the issuing stream, which then resumes', async () => {
    const { host, p } = await setup();
    const s = p.stream();
    expect(s.requestHeaders({ ...REQUEST, 'x-grpc': 'grpc_echo' }, { endOfStream: true })).toBe(
      'StopAllIterationAndWatermark',
    );
    const call = host.grpcCalls.at(-1)!;
    expect([call.service, call.method, call.sent.map(String)]).toEqual([
      'sidecast.test.Echo',
      'Say',
      ['hello'],
    ]);
    expect(call.metadata.get('x-md')?.toString()).toBe('1');
    call.receiveInitialMetadata({ 'x-reply-md': 'md-value' });
    call.receive('world');
    call.close(0, 'fine');
    expect(s.upstream.headers).toBeDefined();
    s.responseHeaders({ ':status': '200' }, { endOfStream: true });
    const out = s.downstream.headers!.toObject();
    expect(out['x-r-grpc-status']).toBe('0');
    expect(out['x-r-grpc-initial']).toBe('md-value');
    expect(out['x-r-grpc-message']).toBe('world');
    expect(out['x-r-grpc-close']).toBe('0 fine');
    expect(out['x-r-pending-callouts']).toBe('0');
  });

  test('stream: send, receive, send with end_stream and close; the close status reaches the stream', async () => {
    const { host, p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-grpc-stream': 'grpc_echo' }, { endOfStream: true });
    const call = host.grpcCalls.at(-1)!;
    expect(call.isStream).toBe(true);
    call.receive('reply-1');
    call.close(14, 'unavailable');
    expect(call.sent.map(String)).toEqual(['one', 'two']);
    s.responseHeaders({ ':status': '200' }, { endOfStream: true });
    const out = s.downstream.headers!.toObject();
    expect([out['x-r-stream-status'], out['x-r-send-status'], out['x-r-close-status']]).toEqual([
      '0',
      '0',
      '0',
    ]);
    expect(out['x-r-grpc-close']).toBe('14 unavailable');
  });

  test('cancel of a unary call returns Ok; an unknown gRPC cluster is ParseFailure, not a trap', async () => {
    const { host, p } = await setup();
    const s = p.stream();
    s.requestHeaders({ ...REQUEST, 'x-grpc-cancel': 'grpc_echo' }, { endOfStream: true });
    expect(s.upstream.headers?.get('x-grpc-cancel-status')?.toString()).toBe('0');
    expect(host.grpcCalls.at(-1)!.state).toBe('cancelled');
    const s2 = p.stream();
    s2.requestHeaders({ ...REQUEST, 'x-grpc': 'nowhere' }, { endOfStream: true });
    s2.responseHeaders({ ':status': '200' }, { endOfStream: true });
    expect(s2.downstream.headers?.get('x-r-grpc-status')?.toString()).toBe('4');
    expect(p.vm().failed).toBeNull();
  });
});
