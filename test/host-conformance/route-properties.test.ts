// xds.route_name / xds.route_metadata from the listener's route table, as Envoy serves them
// (extensions/filters/common/expr/context.cc XDSLookupValues: RouteName = route()->routeName(),
// RouteMetadata = the route's envoy.config.core.v3.Metadata message, which wasm getProperty
// serializes as protobuf bytes; no route ⇒ NotFound).
import { describe, expect, test } from '@jest/globals';
import { envoyRoot } from '../../proto/envoy.js';
import { opsPlugin, result } from './support.js';

const ANNOTATION = {
  type: 'acme.bank.account.opened.v1',
  topic: 'acme/bank/account/opened/v1',
  status: [201, '2xx'],
  data: { from: 'response_body', redact: ['ssn'] },
  sampling: 0.5,
  nested: { flag: true, none: null },
};
const ROUTES = {
  name: 'inbound',
  virtual_hosts: [
    {
      name: 'accounts',
      domains: ['accounts.bank', 'accounts.bank:8080'],
      routes: [
        {
          name: 'open',
          match: { path: '/accounts' },
          route: { cluster: 'app' },
          metadata: { filter_metadata: { 'sidecast.io/event': ANNOTATION, other: { k: 'v' } } },
        },
        { name: 'plain', match: { prefix: '/accounts/' }, route: { cluster: 'app' } },
      ],
    },
    {
      name: 'fallback',
      domains: ['*'],
      routes: [
        {
          name: 'any',
          match: { prefix: '/' },
          route: { cluster: 'app' },
          metadata: { filter_metadata: { x: { n: 1 } } },
        },
      ],
    },
  ],
};
const OPS = ['get_property xds%00route_name', 'get_property xds%00route_metadata'];

async function routeProps(headers: Record<string, string>, routes: unknown = ROUTES) {
  const { plugin } = await opsPlugin({ request_headers: OPS }, { routes });
  plugin.stream().requestHeaders({ ':method': 'POST', ':scheme': 'http', ...headers });
  return OPS.map((op) => result(plugin, 'request_headers', op));
}

const Metadata = () => envoyRoot().lookupType('envoy.config.core.v3.Metadata');
const valueOf = (hexBytes: string) =>
  Metadata().toObject(Metadata().decode(Buffer.from(hexBytes, 'hex')), { defaults: false });

describe('route properties (xds.route_name, xds.route_metadata)', () => {
  test('the selected route serves its name and its Metadata as protobuf bytes (Struct values, other filters’ keys kept)', async () => {
    const [name, metadata] = await routeProps({ ':path': '/accounts', ':authority': 'accounts.bank' });
    expect(name).toBe(`0 ${Buffer.from('open').toString('hex')}`);
    expect(metadata!.startsWith('0 ')).toBe(true);
    const decoded = valueOf(metadata!.slice(2)) as {
      filter_metadata: Record<string, { fields: Record<string, unknown> }>;
    };
    expect(Object.keys(decoded.filter_metadata).sort()).toEqual(['other', 'sidecast.io/event']);
    const fields = decoded.filter_metadata['sidecast.io/event']!.fields;
    expect(fields.type).toEqual({ stringValue: 'acme.bank.account.opened.v1' });
    expect(fields.sampling).toEqual({ numberValue: 0.5 });
    expect(fields.status).toEqual({ listValue: { values: [{ numberValue: 201 }, { stringValue: '2xx' }] } });
    expect(
      (fields.nested as { structValue: { fields: Record<string, unknown> } }).structValue.fields,
    ).toEqual({
      flag: { boolValue: true },
      none: { nullValue: 0 },
    });
  });

  test('a route without metadata: found, empty message (0 bytes); the port in :authority picks the right virtual host', async () => {
    expect(await routeProps({ ':path': '/accounts/7', ':authority': 'accounts.bank:8080' })).toEqual([
      `0 ${Buffer.from('plain').toString('hex')}`,
      '0 ',
    ]);
  });

  test('the wildcard virtual host takes other authorities; no matching route ⇒ NotFound for both', async () => {
    const [name] = await routeProps({ ':path': '/x', ':authority': 'elsewhere' });
    expect(name).toBe(`0 ${Buffer.from('any').toString('hex')}`);
    const none = {
      name: 'r',
      virtual_hosts: [
        {
          name: 'v',
          domains: ['*'],
          routes: [{ name: 'only', match: { path: '/only' }, route: { cluster: 'app' } }],
        },
      ],
    };
    expect(await routeProps({ ':path': '/x', ':authority': 'a' }, none)).toEqual(['1', '1']);
  });

  test('a stream keeps its route; a new table (RDS update) applies to streams started after it', async () => {
    const { plugin } = await opsPlugin({ request_headers: OPS, response_headers: OPS }, { routes: ROUTES });
    const s = plugin.stream();
    s.requestHeaders({ ':method': 'GET', ':path': '/accounts', ':authority': 'accounts.bank' });
    const renamed = structuredClone(ROUTES);
    renamed.virtual_hosts[0]!.routes[0]!.name = 'open-v2';
    plugin.setRoutes(renamed);
    s.responseHeaders({ ':status': '200' });
    expect(result(plugin, 'response_headers', OPS[0]!)).toBe(`0 ${Buffer.from('open').toString('hex')}`);
    plugin.stream().requestHeaders({ ':method': 'GET', ':path': '/accounts', ':authority': 'accounts.bank' });
    expect(result(plugin, 'request_headers', OPS[0]!, 1)).toBe(`0 ${Buffer.from('open-v2').toString('hex')}`);
  });

  test('a route table Envoy would refuse (unknown field) is refused', async () => {
    const bad = {
      virtual_hosts: [
        { name: 'v', domains: ['*'], routes: [{ name: 'r', match: { prefix: '/' }, metdata: {} }] },
      ],
    };
    await expect(opsPlugin({ request_headers: OPS }, { routes: bad })).rejects.toThrow(/metdata/);
  });
});
