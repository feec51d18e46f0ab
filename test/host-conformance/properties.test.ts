// proxy_get_property / proxy_set_property (reference §1.5, §2.13, checklist §2.16 point 10).
import { describe, expect, test } from '@jest/globals';
import { decodePairs, encodePairs } from '../host/index.js';
import { opsPlugin, result } from './support.js';

const REQ = {
  ':method': 'GET',
  ':path': '/a?q=1',
  ':authority': 'svc',
  ':scheme': 'https',
  'user-agent': 'ua',
  'x-request-id': 'rid',
};
const hex = (s: string | Buffer) => Buffer.from(s).toString('hex');
const i64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b.toString('hex');
};

describe('properties', () => {
  test('§2.13 request.* attributes come from the request headers (path segments joined by NUL)', async () => {
    const ops = [
      'request%00path',
      'request%00url_path',
      'request%00query',
      'request%00host',
      'request%00scheme',
      'request%00method',
      'request%00useragent',
      'request%00id',
    ];
    const { plugin } = await opsPlugin({ request_headers: ops.map((p) => `get_property ${p}`) });
    plugin.stream().requestHeaders(REQ);
    expect(ops.map((p) => result(plugin, 'request_headers', `get_property ${p}`))).toEqual(
      ['/a?q=1', '/a', 'q=1', 'svc', 'https', 'GET', 'ua', 'rid'].map((v) => `0 ${hex(v)}`),
    );
  });

  test('§2.13 request.* is NotFound once the request headers are gone (after Continue), readable again in on_log', async () => {
    const { plugin } = await opsPlugin({
      response_headers: ['get_property request%00path'],
      log: ['get_property request%00path'],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.responseHeaders({ ':status': '200' });
    s.end();
    expect(result(plugin, 'response_headers', 'get_property')).toBe('1');
    expect(result(plugin, 'log', 'get_property')).toBe(`0 ${hex('/a?q=1')}`);
  });

  test('§1.5 a dotted single segment ("request.path") does NOT resolve: NotFound', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['get_property request.path'] });
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'get_property')).toBe('1');
  });

  test('§1.5 a trailing NUL in the path is tolerated', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['get_property request%00method%00'] });
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'get_property')).toBe(`0 ${hex('GET')}`);
  });

  test('§2.13 plugin_name, plugin_root_id and plugin_vm_id are readable from the root context', async () => {
    const { plugin } = await opsPlugin(
      { configure: ['get_property plugin_name', 'get_property plugin_root_id', 'get_property plugin_vm_id'] },
      { name: 'ns.emitter', vmId: 'vm1' },
    );
    expect(
      ['plugin_name', 'plugin_root_id', 'plugin_vm_id'].map((p) =>
        result(plugin, 'configure', `get_property ${p}`),
      ),
    ).toEqual([`0 ${hex('ns.emitter')}`, `0 ${hex('ops')}`, `0 ${hex('vm1')}`]);
  });

  test('§2.13 xds.route_name is settable per stream; plugin-wide properties (xds.node.id) reach the root too', async () => {
    const { plugin } = await opsPlugin(
      {
        configure: ['get_property xds%00node%00id'],
        request_headers: ['get_property xds%00route_name', 'get_property xds%00cluster_name'],
      },
      { properties: { 'xds.node.id': 'sidecar~1', 'xds.cluster_name': 'accounts' } },
    );
    plugin.stream({ properties: { 'xds.route_name': 'accounts_create' } }).requestHeaders(REQ);
    expect(result(plugin, 'configure', 'get_property')).toBe(`0 ${hex('sidecar~1')}`);
    expect(result(plugin, 'request_headers', 'get_property xds%00route_name')).toBe(
      `0 ${hex('accounts_create')}`,
    );
    expect(result(plugin, 'request_headers', 'get_property xds%00cluster_name')).toBe(`0 ${hex('accounts')}`);
  });

  test('§1.5 encodings: int64 8 bytes LE, double IEEE LE, bool 1 byte, timestamp ns, map and list as pairs', async () => {
    const { plugin } = await opsPlugin(
      {
        request_headers: [
          'get_property source%00port',
          'get_property x%00ratio',
          'get_property connection%00mtls',
          'get_property request%00time',
          'get_property request%00headers',
          'get_property x%00list',
        ],
      },
      { host: { startTimeMs: 1_700_000_000_000 } },
    );
    plugin
      .stream({
        properties: { 'source.port': 5555, 'x.ratio': 0.5, 'connection.mtls': true, 'x.list': ['a', 'b'] },
      })
      .requestHeaders({ a: '1', b: '2' });
    const d = Buffer.alloc(8);
    d.writeDoubleLE(0.5);
    const r = (p: string) => result(plugin, 'request_headers', `get_property ${p}`);
    expect(r('source%00port')).toBe(`0 ${i64(5555n)}`);
    expect(r('x%00ratio')).toBe(`0 ${d.toString('hex')}`);
    expect(r('connection%00mtls')).toBe('0 01');
    expect(r('request%00time')).toBe(`0 ${i64(1_700_000_000_000n * 1_000_000n)}`);
    expect(r('request%00headers')).toBe(
      `0 ${encodePairs([
        ['a', Buffer.from('1')],
        ['b', Buffer.from('2')],
      ]).toString('hex')}`,
    );
    const list = decodePairs(Buffer.from(r('x%00list').slice(2), 'hex'));
    expect(list.map(([k, v]) => [k, v.length])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
  });

  test('§2.13 a map property can be drilled into by segment (request.headers.<name>)', async () => {
    const { plugin } = await opsPlugin({ request_headers: ['get_property request%00headers%00x-h'] });
    plugin.stream().requestHeaders([...Object.entries(REQ), ['x-h', 'v1'], ['x-h', 'v2']]);
    expect(result(plugin, 'request_headers', 'get_property')).toBe(`0 ${hex('v1, v2')}`);
  });

  test('§2.13 response.code is an int once the response started; request.duration only once complete', async () => {
    const { plugin } = await opsPlugin({
      response_headers: ['get_property response%00code', 'get_property request%00duration'],
      log: ['get_property request%00duration'],
    });
    const s = plugin.stream();
    s.requestHeaders(REQ, { endOfStream: true });
    s.responseHeaders({ ':status': '201' });
    s.end();
    expect(result(plugin, 'response_headers', 'get_property response%00code')).toBe(`0 ${i64(201n)}`);
    expect(result(plugin, 'response_headers', 'get_property request%00duration')).toBe('1');
    expect(result(plugin, 'log', 'get_property request%00duration')).toBe(`0 ${i64(0n)}`);
  });

  test('§2.13 set_property stores filter state readable by get_property; without a stream it is NotFound', async () => {
    const { plugin } = await opsPlugin({
      configure: ['set_property k v'],
      request_headers: ['set_property my_key val', 'get_property my_key', 'get_property unknown_thing'],
    });
    plugin.stream().requestHeaders(REQ);
    expect(result(plugin, 'configure', 'set_property')).toBe('1');
    expect(result(plugin, 'request_headers', 'set_property')).toBe('0');
    expect(result(plugin, 'request_headers', 'get_property my_key')).toBe(`0 ${hex('val')}`);
    expect(result(plugin, 'request_headers', 'get_property unknown_thing')).toBe('1');
  });

  test('§2.13 connection attributes are always there (source/destination address and port, connection.id uint)', async () => {
    const { plugin } = await opsPlugin({
      request_headers: [
        'get_property source%00address',
        'get_property destination%00port',
        'get_property connection%00id',
      ],
    });
    plugin.stream({ connectionId: 7, properties: { 'source.address': '10.1.2.3:4444' } }).requestHeaders(REQ);
    expect(result(plugin, 'request_headers', 'get_property source')).toBe(`0 ${hex('10.1.2.3:4444')}`);
    expect(result(plugin, 'request_headers', 'get_property destination')).toMatch(/^0 [0-9a-f]{16}$/);
    expect(result(plugin, 'request_headers', 'get_property connection')).toBe(`0 ${i64(7n)}`);
  });
});
