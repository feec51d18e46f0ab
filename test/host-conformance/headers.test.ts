// Header map semantics and availability windows (reference §2.5, §1.5 strict pairs; checklist
// §2.16 points 7 and 12).
import { describe, expect, test } from '@jest/globals';
import { encodePairs } from '../host/index.js';
import { arg, opsPlugin, result } from './support.js';

const REQ = { ':method': 'GET', ':path': '/a?x=1', ':authority': 'svc', ':scheme': 'http' };

describe('header maps', () => {
  test('§2.5 request headers are readable and mutable inside on_request_headers', async () => {
    const { plugin } = await opsPlugin({
      request_headers: [
        'get_header 0 :path',
        'add_header 0 x-added 1',
        'replace_header 0 :path /b',
        'remove_header 0 :scheme',
      ],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'get_header 0 :path')).toBe('0 /a?x=1');
    expect(s.upstream.headers?.toObject()).toEqual({
      ':method': 'GET',
      ':path': '/b',
      ':authority': 'svc',
      'x-added': '1',
    });
  });

  test('§2.5 request headers are BadArgument after Continue (value/add/replace/remove/set/size); pairs are Ok + empty', async () => {
    const { plugin } = await opsPlugin({
      response_headers: [
        'get_header 0 :path',
        'add_header 0 a 1',
        'replace_header 0 a 1',
        'remove_header 0 a',
        'set_pairs 0 a=1',
        'map_size 0',
        'get_pairs 0',
      ],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.responseHeaders({ ':status': '200' });
    const r = (op: string) => result(plugin, 'response_headers', op);
    expect([
      r('get_header 0'),
      r('add_header 0'),
      r('replace_header 0'),
      r('remove_header 0'),
      r('set_pairs 0'),
      r('map_size 0'),
    ]).toEqual(['2', '2', '2', '2', '2', '2 0']);
    expect(r('get_pairs 0')).toBe('0 ptr0');
  });

  test('§2.5 request headers stay available while the request is paused from on_request_headers', async () => {
    const { plugin } = await opsPlugin(
      { request_headers: ['return 1'], request_body: ['get_header 0 :authority'] },
      { allowOnHeadersStopIteration: true },
    );
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.requestBody('x', { endOfStream: true });
    expect(result(plugin, 'request_body', 'get_header 0')).toBe('0 svc');
  });

  test('§2.5 keys are lowercased on every operation; lookups are case-insensitive', async () => {
    const { plugin } = await opsPlugin({
      request_headers: ['add_header 0 X-Mixed Yes', 'get_header 0 X-MIXED', 'get_header 0 CONTENT-TYPE'],
    });
    const s = plugin.stream();
    s.requestHeaders({ ...REQ, 'Content-Type': 'text/plain' });
    expect(result(plugin, 'request_headers', 'get_header 0 X-MIXED')).toBe('0 Yes');
    expect(result(plugin, 'request_headers', 'get_header 0 CONTENT-TYPE')).toBe('0 text/plain');
    expect(s.upstream.headers?.entries.map(([k]) => k)).toContain('x-mixed');
  });

  test('§2.5 get returns only the FIRST value of a repeated header; a missing header is NotFound', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['get_header 0 x-r', 'get_header 0 x-none'] });
    plugin.stream().requestHeaders([...Object.entries(REQ), ['x-r', 'one'], ['x-r', 'two']]);
    expect(result(plugin, 'request_headers', 'get_header 0 x-r')).toBe('0 one');
    expect(result(plugin, 'request_headers', 'get_header 0 x-none')).toBe('1');
  });

  test('§2.5 add appends a duplicate, replace sets the first occurrence (adds if absent), remove deletes all', async () => {
    const { plugin } = await opsPlugin({
      request_headers: [
        'add_header 0 x-r three',
        'replace_header 0 x-r ONE',
        'replace_header 0 x-new n',
        'remove_header 0 x-gone',
      ],
    });
    const s = plugin.stream();
    s.requestHeaders([
      ...Object.entries(REQ),
      ['x-r', 'one'],
      ['x-r', 'two'],
      ['x-gone', '1'],
      ['x-gone', '2'],
    ]);
    const h = s.upstream.headers!.entries.map(([k, v]) => `${k}=${v}`);
    expect(h.filter((x) => x.startsWith('x-'))).toEqual(['x-r=ONE', 'x-r=two', 'x-r=three', 'x-new=n']);
  });

  test('§2.5 set_header_map_pairs removes all then adds in order', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['set_pairs 0 :path=/z,B=2,b=3'] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(s.upstream.headers?.entries.map(([k, v]) => `${k}=${v}`)).toEqual([':path=/z', 'b=2', 'b=3']);
  });

  test('§1.5 a malformed pairs buffer parses as EMPTY: set_header_map_pairs wipes every header and returns Ok', async () => {
    const good = encodePairs([['a', Buffer.from('1')]]);
    const truncated = arg(good.subarray(0, good.length - 1).toString('latin1'));
    const { plugin } = await opsPlugin({ request_headers: [`set_pairs_raw 0 ${truncated}`] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'set_pairs_raw 0')).toBe('0');
    expect(s.upstream.headers?.size).toBe(0);
  });

  test('§1.5 get_header_map_pairs uses the wire format (count, lengths, NUL-terminated keys and values)', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['get_pairs 0'] });
    plugin.stream().requestHeaders({ a: '1', b: '22' });
    expect(result(plugin, 'request_headers', 'get_pairs 0')).toBe('0 a=1,b=22');
    expect(
      encodePairs([
        ['a', Buffer.from('1')],
        ['b', Buffer.from('22')],
      ]).toString('hex'),
    ).toBe('02000000010000000100000001000000020000006100310062003232' + '00');
  });

  test('§2.5 get_header_map_size is the byte size of keys and values, not the count', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['map_size 0'] });
    plugin.stream().requestHeaders({ a: '1', bb: '22' });
    expect(result(plugin, 'request_headers', 'map_size 0')).toBe('0 6');
  });

  test('§2.5 on_log can read request headers, response headers and response trailers; request trailers are NotFound', async () => {
    const { plugin } = await opsPlugin({
      log: [
        'get_header 0 :path',
        'get_header 2 :status',
        'get_header 3 grpc-status',
        'get_header 1 t',
        'add_header 2 x 1',
      ],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.requestTrailers({ t: 'v' });
    s.responseHeaders({ ':status': '201' });
    s.responseTrailers({ 'grpc-status': '0' });
    s.end();
    const r = (op: string) => result(plugin, 'log', op);
    expect([
      r('get_header 0'),
      r('get_header 2'),
      r('get_header 3'),
      r('get_header 1'),
      r('add_header 2'),
    ]).toEqual(['0 /a?x=1', '0 201', '0 0', '1', '2']);
  });

  test('§2.5 in on_log a map that never existed is NotFound (no response)', async () => {
    const { plugin } = await opsPlugin({ log: ['get_header 2 :status'] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.end();
    expect(result(plugin, 'log', 'get_header 2')).toBe('1');
  });

  test('§2.5 request trailers can be added from on_request_body at end of stream when none exist', async () => {
    const { plugin } = await opsPlugin({ request_body: ['add_header 1 x-trailer t'] });
    const s = plugin.stream();
    s.requestHeaders(REQ);
    s.requestBody('data', { endOfStream: true });
    expect(result(plugin, 'request_body', 'add_header 1')).toBe('0');
    expect(s.upstream.trailers?.toObject()).toEqual({ 'x-trailer': 't' });
  });

  test('§2.5 response headers are mutable in on_response_headers and reach the client', async () => {
    const { plugin } = await opsPlugin({
      response_headers: ['replace_header 2 :status 202', 'add_header 2 x-by wasm'],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.responseHeaders({ ':status': '200' }, { endOfStream: true });
    expect(s.downstream.headers?.toObject()).toEqual({ ':status': '202', 'x-by': 'wasm' });
    expect(s.downstream.ended).toBe(true);
  });

  test('§1.4 a map type above 7 is BadArgument', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['get_header 8 a', 'get_pairs 8'] });
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'get_header 8')).toBe('2');
    expect(result(plugin, 'request_headers', 'get_pairs 8')).toMatch(/^2/);
  });
});
