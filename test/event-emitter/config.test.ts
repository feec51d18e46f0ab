import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { PluginRejectedError } from '../host/index.js';
import { config, emitter, healthy } from './harness.js';

const schema = JSON.parse(
  readFileSync(new URL('../../common/emitter-config.schema.json', import.meta.url), 'utf8'),
);
const validate = new Ajv2020({ allErrors: true }).compile(schema);

/** The filter's verdict: null when accepted, else the log line naming the field. */
async function verdict(cfg: unknown): Promise<string | null> {
  try {
    const e = await emitter(cfg);
    healthy(e.plugin);
    return null;
  } catch (err) {
    if (!(err instanceof PluginRejectedError)) throw err;
    const line = err.logs.find((l) =>
      l.message.startsWith('sidecast event-emitter: configuration rejected: '),
    );
    if (!line) throw new Error(`rejected without our error line: ${err.message}`);
    return line.message.slice('sidecast event-emitter: configuration rejected: '.length);
  }
}

type Json = Record<string, unknown>;
const base = config() as Json & { rules: Json[] };
const rule = base.rules[0] as Json & { match: Json; event: Json };
const withRule = (r: Json) => ({ ...base, rules: [{ ...rule, ...r }] });
const withMatch = (m: Json) => withRule({ match: m });
const withEvent = (ev: Json) => withRule({ event: { type: 't', topic: 'a/b', ...ev } });

const examples = (): [string, unknown][] => {
  const staticYaml = parseYaml(
    readFileSync(new URL('../../envoy-configs/static-emitter.yaml', import.meta.url), 'utf8'),
  );
  const found: [string, unknown][] = [];
  const walk = (node: unknown, where: string): void => {
    if (node && typeof node === 'object') {
      const o = node as Json;
      if (
        o['@type'] === 'type.googleapis.com/google.protobuf.StringValue' &&
        typeof o.value === 'string' &&
        o.value.includes('"rules"')
      )
        found.push([where, JSON.parse(o.value)]);
      for (const [k, v] of Object.entries(o)) walk(v, `${where}.${k}`);
    }
  };
  walk(staticYaml, 'envoy-configs/static-emitter.yaml');
  for (const doc of parseAllDocuments(
    readFileSync(new URL('../../envoy-configs/istio/wasmplugin-event-emitter.yaml', import.meta.url), 'utf8'),
  )) {
    const js = doc.toJS() as Json | null;
    const spec = js?.spec as Json | undefined;
    if (js?.kind === 'WasmPlugin' && spec?.pluginConfig)
      found.push([`envoy-configs/istio WasmPlugin ${(js.metadata as Json).name}`, spec.pluginConfig]);
  }
  found.push(['docs/event-emitter.md full example', FULL_EXAMPLE]);
  return found;
};

export const FULL_EXAMPLE = {
  source: '//accounts.bank.svc',
  bridge: {
    cluster: 'sidecast_bridge',
    authority: 'sidecast-bridge',
    path: '/v1/events',
    timeout_ms: 2000,
    token: 'secret',
  },
  batch: { max_events: 64, max_bytes: 262144, flush_interval_ms: 100, max_buffered_events: 10000 },
  retry: { max_attempts: 5, base_delay_ms: 100, max_delay_ms: 5000 },
  rules: [
    {
      name: 'account-opened',
      match: {
        route_name: 'accounts_create',
        method: ['POST', 'PUT'],
        path: '/accounts/{id}',
        host: 'accounts.bank',
        headers: [
          { name: 'x-tenant', exact: 'acme' },
          { name: 'x-debug', present: false },
        ],
        status: [201, '2xx'],
      },
      event: {
        type: 'acme.bank.account.opened.v1',
        topic: 'acme/bank/account/opened/v1/{path.id}',
        subject: '{response.body.id}',
        partitionkey: '{request.header.x-tenant}',
        data: { from: 'response_body', field: 'account', redact: ['ssn', 'card.number'] },
        max_body_bytes: 65536,
        sampling: 1.0,
        delivery: 'guaranteed',
        deadline_ms: 500,
        on_failure: 'release',
      },
    },
  ],
};

describe('event-emitter configuration', () => {
  test.each(examples())(
    'example %s is valid by the schema and accepted by the filter',
    async (_name, cfg) => {
      expect(validate(cfg) ? null : validate.errors).toBeNull();
      expect(await verdict(cfg)).toBeNull();
    },
  );

  // Each refusal names the field and says what to do.
  const bad: [string, unknown, string][] = [
    ['empty', '', 'the configuration is empty'],
    ['not JSON', '{"source": ', 'not valid JSON'],
    ['too deep', '['.repeat(100) + ']'.repeat(100), 'nests deeper than 64'],
    ['not an object', [], 'configuration: must be an object, not an array'],
    ['duplicate key', '{"source":"a","source":"b"}', 'duplicate key "source"'],
    ['unknown top-level field', { ...base, extra: 1 }, 'configuration: unknown field "extra"'],
    ['missing source', { ...base, source: undefined }, 'configuration: missing required field "source"'],
    ['missing bridge', { ...base, bridge: undefined }, 'bridge: missing'],
    ['bridge.cluster empty', { ...base, bridge: { cluster: '' } }, 'bridge.cluster: must not be empty'],
    [
      'bridge.timeout_ms 0',
      { ...base, bridge: { cluster: 'c', timeout_ms: 0 } },
      'bridge.timeout_ms: must be between 1 and 300000 (got 0)',
    ],
    [
      'bridge.path relative',
      { ...base, bridge: { cluster: 'c', path: 'v1/events' } },
      'bridge.path: must start with "/"',
    ],
    [
      'batch.max_events float',
      { ...base, batch: { max_events: 1.5 } },
      'batch.max_events: must be an integer',
    ],
    ['retry unknown field', { ...base, retry: { attempts: 3 } }, 'retry: unknown field "attempts"'],
    [
      'no rules without route annotations',
      { ...base, rules: [], route_annotations: false },
      'rules: must be an array of 1 to 64 rules (or turn "route_annotations" on)',
    ],
    [
      'route_annotations not a boolean',
      { ...base, route_annotations: 'yes' },
      'route_annotations: must be true or false',
    ],
    ['rule name', withRule({ name: 'Bad Name' }), 'rules[0].name: "Bad Name" must be 1-63 lowercase'],
    [
      'duplicate rule name',
      { ...base, rules: [rule, rule] },
      'rules[1].name: "account-opened" is already used by rules[0]',
    ],
    [
      'match without route/path',
      withMatch({ method: 'POST' }),
      'rules[0].match: needs "route_name" or "path"',
    ],
    [
      'lowercase method',
      withMatch({ path: '/a', method: 'post' }),
      'rules[0].match.method: must be an uppercase HTTP method',
    ],
    [
      'path template',
      withMatch({ path: '/a/{id' }),
      'rules[0].match.path: "/a/{id" segment "{id" must be {name} or {name...}',
    ],
    ['rest not last', withMatch({ path: '/a/{x...}/b' }), '"{x...}" may only be the last segment'],
    ['duplicate path param', withMatch({ path: '/a/{x}/{x}' }), 'names parameter "x" twice'],
    [
      'status code',
      withMatch({ path: '/a', status: [99] }),
      'rules[0].match.status[0]: status codes are integers from 100 to 599',
    ],
    [
      'status class',
      withMatch({ path: '/a', status: ['6xx'] }),
      'rules[0].match.status[0]: must be a status code (201) or a class',
    ],
    [
      'header cond',
      withMatch({ path: '/a', headers: [{ name: 'x-a', exact: 'v', present: true }] }),
      'rules[0].match.headers[0]: give exactly one of "exact"',
    ],
    [
      'header name case',
      withMatch({ path: '/a', headers: [{ name: 'X-A', present: true }] }),
      'rules[0].match.headers[0].name: header names are lowercase',
    ],
    [
      'missing event',
      { ...base, rules: [{ name: 'x', match: { path: '/a' } }] },
      'rules[0]: missing required field "event"',
    ],
    ['missing topic', withEvent({ topic: undefined }), 'rules[0].event: missing required field "topic"'],
    [
      'wildcard topic',
      withEvent({ topic: 'a/*/b' }),
      'rules[0].event.topic: "a/*/b" is not a valid topic: a level contains "*" or ">"',
    ],
    [
      'empty level',
      withEvent({ topic: 'a//b' }),
      'rules[0].event.topic: "a//b" is not a valid topic: it has an empty level',
    ],
    [
      'unknown source',
      withEvent({ topic: 'a/{foo.bar}' }),
      'rules[0].event.topic: unknown template source "{foo.bar}"; use {path.<param>}',
    ],
    [
      'path param not in template',
      withEvent({ topic: 'a/{path.id}' }),
      'rules[0].event.topic: {path.id} names no parameter of match.path "/accounts"',
    ],
    [
      'unclosed placeholder',
      withEvent({ subject: 'x{request.method' }),
      'rules[0].event.subject: unclosed "{"',
    ],
    [
      'bad body path',
      withEvent({ partitionkey: '{request.body.a..b}' }),
      'rules[0].event.partitionkey: {request.body.a..b}: field path "a..b" has an empty segment',
    ],
    [
      'data.from missing',
      withEvent({ data: { field: 'a' } }),
      'rules[0].event.data: missing required field "from"',
    ],
    [
      'data.from bad',
      withEvent({ data: { from: 'body' } }),
      'rules[0].event.data.from: must be one of "request_body", "response_body", "none"',
    ],
    [
      'redact with none',
      withEvent({ data: { from: 'none', redact: ['a'] } }),
      'rules[0].event.data: "field" and "redact" need "from"',
    ],
    [
      'too many redactions',
      withEvent({ data: { from: 'request_body', redact: Array.from({ length: 33 }, (_, i) => `f${i}`) } }),
      'at most 32 field paths',
    ],
    [
      'max_body_bytes too big',
      withEvent({ max_body_bytes: 2097152 }),
      'rules[0].event.max_body_bytes: must be between 0 and 1048576',
    ],
    ['sampling > 1', withEvent({ sampling: 1.5 }), 'rules[0].event.sampling: must be a number from 0 to 1'],
    [
      'deadline on async',
      withEvent({ deadline_ms: 100 }),
      'rules[0].event: "deadline_ms" and "on_failure" only apply to "delivery": "guaranteed"',
    ],
    [
      'on_failure bad',
      withEvent({ delivery: 'guaranteed', on_failure: 'drop' }),
      'rules[0].event.on_failure: must be one of "release", "reject"',
    ],
  ];

  test.each(bad)('refuses %s with a message naming the field', async (_name, cfg, message) => {
    const text = typeof cfg === 'string' ? cfg : JSON.stringify(cfg);
    expect(await verdict(text)).toContain(message);
  });

  // The filter accepts exactly what the schema accepts (cases the schema can express).
  const table: [string, unknown][] = [
    ...bad
      .filter(
        ([name]) =>
          ![
            'empty',
            'not JSON',
            'too deep',
            'duplicate key',
            'duplicate rule name',
            'duplicate path param',
            'path param not in template',
          ].includes(name),
      )
      .map(([n, c]) => [n, c] as [string, unknown]),
    ['minimal', base],
    ['route only', withMatch({ route_name: 'r' })],
    ['method list', withMatch({ path: '/a', method: ['GET', 'NOOP'] })],
    ['root path', withMatch({ path: '/' })],
    ['rest only', withMatch({ path: '/{all...}' })],
    ['pchars', withMatch({ path: "/a-b_c.d~e/!$&'()*+,;=:@%20" })],
    ['bad pchar', withMatch({ path: '/a b' })],
    ['empty segment', withMatch({ path: '/a//b' })],
    ['trailing slash', withMatch({ path: '/a/' })],
    ['host with space', withMatch({ path: '/a', host: 'a b' })],
    ['status mix', withMatch({ path: '/a', status: [100, 599, '1xx', '5xx'] })],
    ['status empty', withMatch({ path: '/a', status: [] })],
    ['header empty exact', withMatch({ path: '/a', headers: [{ name: 'x', exact: '' }] })],
    [
      'all sources',
      withRule({
        match: { path: '/a/{id}' },
        event: {
          type: 't',
          topic:
            'x/{path.id}/{request.header.h}/{request.body.a.0}/{response.body.b}/{request.method}/{request.path}/{response.status}/{route.name}',
        },
      }),
    ],
    ['placeholder inside a level', withEvent({ topic: 'pre-{request.method}-post/x' })],
    ['topic with space', withEvent({ topic: 'a b' })],
    ['topic with >', withEvent({ topic: 'a/>' })],
    ['topic leading slash', withEvent({ topic: '/a' })],
    ['topic 64 levels', withEvent({ topic: Array.from({ length: 64 }, () => 'l').join('/') })],
    ['topic 65 levels', withEvent({ topic: Array.from({ length: 65 }, () => 'l').join('/') })],
    ['topic 1024 chars', withEvent({ topic: 'x'.repeat(1024) })],
    ['topic 1025 chars', withEvent({ topic: 'x'.repeat(1025) })],
    ['topic unicode', withEvent({ topic: 'zürich/événement' })],
    ['topic nbsp', withEvent({ topic: 'a\u00a0b' })],
    ['topic control', withEvent({ topic: 'a\u0001b' })],
    ['subject any text', withEvent({ subject: 'a b/c*>{request.method}' })],
    ['subject stray }', withEvent({ subject: 'a}' })],
    ['header name bad in template', withEvent({ subject: '{request.header.X}' })],
    ['field path chars', withEvent({ data: { from: 'response_body', field: 'a.$b.@c.d-e.f:g.0' } })],
    ['field path bad', withEvent({ data: { from: 'response_body', field: 'a b' } })],
    ['data none', withEvent({ data: { from: 'none' } })],
    ['max_body 0', withEvent({ max_body_bytes: 0 })],
    ['sampling 0', withEvent({ sampling: 0 })],
    ['sampling string', withEvent({ sampling: '1' })],
    ['guaranteed defaults', withEvent({ delivery: 'guaranteed' })],
    ['guaranteed reject', withEvent({ delivery: 'guaranteed', deadline_ms: 60000, on_failure: 'reject' })],
    ['deadline 0', withEvent({ delivery: 'guaranteed', deadline_ms: 0 })],
    ['integer as float', { ...base, batch: { max_events: 2.0 } }],
    [
      'batch bounds',
      {
        ...base,
        batch: { max_events: 1000, max_bytes: 1024, flush_interval_ms: 1, max_buffered_events: 100000 },
      },
    ],
    ['batch max_bytes low', { ...base, batch: { max_bytes: 1023 } }],
    ['token control char', { ...base, bridge: { cluster: 'c', token: 'a\nb' } }],
    ['no rules, route annotations on (default)', { ...base, rules: [] }],
    ['rules absent, route annotations on', { source: base.source, bridge: base.bridge }],
    [
      'rules absent, route annotations off',
      { source: base.source, bridge: base.bridge, route_annotations: false },
    ],
    ['route_annotations string', { ...base, route_annotations: 'no' }],
    ['64 rules', { ...base, rules: Array.from({ length: 64 }, (_, i) => ({ ...rule, name: `r${i}` })) }],
    ['65 rules', { ...base, rules: Array.from({ length: 65 }, (_, i) => ({ ...rule, name: `r${i}` })) }],
    ['rule name 63', withRule({ name: 'a'.repeat(63) })],
    ['rule name 64', withRule({ name: 'a'.repeat(64) })],
    ['rule name leading dash', withRule({ name: '-a' })],
    ['type empty', withEvent({ type: '' })],
    ['source number', { ...base, source: 5 }],
  ];

  test.each(table)('schema and filter agree: %s', async (_name, cfg) => {
    const bySchema = validate(cfg);
    const byFilter = (await verdict(cfg)) === null;
    expect({ byFilter, errors: byFilter === bySchema ? 'same' : validate.errors }).toEqual({
      byFilter: bySchema,
      errors: 'same',
    });
  });
});
