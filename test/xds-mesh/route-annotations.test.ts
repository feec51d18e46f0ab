// Mesh emitter.annotateRoutes: EventRoutes become annotated Envoy routes (route metadata), and the
// emitter in the test host, given the generated route table and ECDS config, emits the same events
// as with plugin-config rules. Uses a fixture copy of the bank mesh (never examples/).
import { describe, expect, test } from '@jest/globals';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import { loadMesh, translate } from '../../xds-server/mesh/index.js';
import { pathRegex, pathsMayOverlap, routeMatch } from '../../xds-server/mesh/route-annotations.js';
import { acceptAll, emitter, exchange, flush, type CloudEvent } from '../event-emitter/harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const FIXTURE = new URL('./fixtures/bank-annotated.yaml', import.meta.url).pathname;

function accountsResources(annotate: boolean): { routes: Json; emitterConfig: Json } {
  const mesh = loadMesh(FIXTURE);
  mesh.mesh.emitter.annotateRoutes = annotate;
  const group = translate(mesh).get('accounts')!;
  const routes: Json = envoyChecker().decode(
    'envoy.config.route.v3.RouteConfiguration',
    group.get(TYPE.route)!.get('sidecast_inbound')!,
    'rds',
  );
  const ecds: Json = envoyChecker().decode(
    'envoy.config.core.v3.TypedExtensionConfig',
    group.get(TYPE.extensionConfig)!.get('sidecast.event-emitter.accounts')!,
    'ecds',
  );
  return { routes, emitterConfig: JSON.parse(ecds.typed_config.config.configuration.value) };
}

describe('xds-server: EventRoutes as route metadata (emitter.annotateRoutes)', () => {
  test('path templates: overlap as the emitter matches them, and their RE2 regexes', () => {
    const table: [string, string, boolean][] = [
      ['/accounts', '/accounts', true],
      ['/accounts', '/accounts/{id}', false],
      ['/accounts/{id}', '/accounts/{id}/close', false],
      ['/accounts/{id}/close', '/accounts/{x}/{rest...}', true],
      ['/accounts/{rest...}', '/accounts', false],
      ['/a/{x}', '/b/{y}', false],
      ['/{x}', '/a', true],
      ['/', '/', true],
      ['/', '/{rest...}', false],
    ];
    for (const [a, b, overlap] of table) {
      expect([a, b, pathsMayOverlap(a, b)]).toEqual([a, b, overlap]);
      expect([b, a, pathsMayOverlap(b, a)]).toEqual([b, a, overlap]);
    }
    expect(pathRegex('/accounts/{id}/close')).toBe('/accounts/[^/]+/close');
    expect(pathRegex('/files/{p...}')).toBe('/files/.+');
    expect(pathRegex('/v1.0/a+b')).toBe('/v1\\.0/a\\+b');
    expect(pathRegex('/')).toBe('/');
    expect(
      routeMatch({
        method: ['POST', 'PUT'],
        path: '/a',
        host: 'x.io',
        headers: [{ name: 'k', present: false }],
      }),
    ).toEqual({
      safe_regex: { regex: '/a' },
      headers: [
        { name: ':method', string_match: { safe_regex: { regex: 'POST|PUT' } } },
        { name: ':authority', string_match: { safe_regex: { regex: '(?i)x\\.io(:[0-9]+)?' } } },
        { name: 'k', present_match: true, invert_match: true },
      ],
    });
  });

  test('routes carry the annotations; what cannot be a route (overlap, routeName) stays a plugin rule', () => {
    const { routes, emitterConfig } = accountsResources(true);
    const vh = routes.virtual_hosts[0];
    expect(vh.routes.map((r: Json) => r.name)).toEqual(['account-closed', 'account-opened', 'default']);
    const opened = vh.routes[1];
    expect(opened.match).toEqual({
      safe_regex: { regex: '/accounts' },
      headers: [{ name: ':method', string_match: { exact: 'POST' } }],
    });
    expect(opened.route).toEqual({ cluster: 'inbound|accounts' });
    expect(opened.metadata.filter_metadata['sidecast.io/event']).toEqual({
      name: 'account-opened',
      path: '/accounts',
      status: [201],
      type: 'acme.bank.account.opened.v1',
      topic: 'acme/bank/account/opened/v1',
      subject: '{response.body.id}',
      partitionKey: '{response.body.id}',
      data: { from: 'response_body', redact: ['ssn'] },
      delivery: 'async',
    });
    expect(vh.routes[0].metadata.filter_metadata['sidecast.io/event']).toMatchObject({
      deadline: '250ms',
      delivery: 'guaranteed',
    });
    expect(emitterConfig.route_annotations).toBe(true);
    expect(emitterConfig.rules.map((r: Json) => r.name)).toEqual(['account-touched', 'health-probed']);
    // Switch off: one catch-all route, every EventRoute a rule, no route metadata read.
    const off = accountsResources(false);
    expect(off.routes.virtual_hosts[0].routes.map((r: Json) => r.name)).toEqual(['default']);
    expect(off.emitterConfig.rules).toHaveLength(4);
    expect(off.emitterConfig.route_annotations).toBe(false);
  });

  /** Runs the same exchanges through the emitter configured by each mode; returns the events. */
  async function eventsOf(annotate: boolean): Promise<CloudEvent[]> {
    const { routes, emitterConfig } = accountsResources(annotate);
    const e = await emitter(emitterConfig, { routes });
    const out: CloudEvent[] = [];
    const body = JSON.stringify({ id: 'acc-1', owner: 'ada', ssn: '1' });
    exchange(
      e.plugin,
      { path: '/accounts' },
      { status: 201, body, headers: { 'content-type': 'application/json' } },
    );
    exchange(e.plugin, { path: '/accounts' }, { status: 400 });
    const closing = exchange(
      e.plugin,
      { method: 'PUT', path: '/accounts/a7/close', headers: { 'x-tenant': 't' } },
      { status: 204 },
      false,
    );
    for (const c of e.host.pendingCalls.filter((c) => c.timeoutMs === 250)) out.push(...acceptAll(c));
    closing.end();
    exchange(e.plugin, { method: 'GET', path: '/healthz' }, { status: 200 });
    for (const c of flush(e.host, 100)) out.push(...acceptAll(c));
    return out
      .map(({ id: _id, time: _time, ...rest }) => rest as CloudEvent)
      .sort((a, b) => String(a.type).localeCompare(String(b.type)));
  }

  test('the bank fixture emits the same events either way (annotated routes or plugin rules)', async () => {
    const viaRules = await eventsOf(false);
    const viaRoutes = await eventsOf(true);
    expect(viaRules.map((e) => e.type)).toEqual([
      'acme.bank.account.closed.v1',
      'acme.bank.account.opened.v1',
      'acme.bank.account.touched.v1',
      'acme.bank.health.v1',
    ]);
    expect(viaRoutes).toEqual(viaRules);
  });
});
