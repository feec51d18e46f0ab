// `sidecast import openapi`: x-sidecast-event operations → EventRoutes (petstore-like 3.0 spec and
// the bank accounts service's own 3.1 spec, both fixtures); errors name JSON pointers.
import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { importOpenApi, OpenApiImportError, toMeshYaml } from '../../xds-server/annotations/openapi.js';
import { parseMesh } from '../../xds-server/mesh/index.js';
import { specSchemas } from '../../xds-server/mesh/schema.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const fixture = (f: string) => new URL(`./fixtures/${f}`, import.meta.url).pathname;
const PETSTORE = fixture('petstore.openapi.yaml');
const BANK = fixture('bank-accounts.openapi.yaml');
/** Whether this mesh schema carries event.dataSchema (the tracing work adds it). */
const DATA_SCHEMA = (specSchemas.EventRoute as Json).properties.event.properties.dataSchema !== undefined;

const minimal = (paths: Json, openapi = '3.1.0'): Json => ({
  openapi,
  info: { title: 't', version: '1' },
  paths,
});
const post = (ext: unknown, extra: Json = {}): Json => ({
  post: { 'x-sidecast-event': ext, responses: { '201': { description: 'ok' } }, ...extra },
});

async function problemsOf(spec: string | Json, service = 'svc'): Promise<string[]> {
  try {
    await importOpenApi(spec, { service });
  } catch (err) {
    if (err instanceof OpenApiImportError) return err.problems.map((p) => `${p.pointer}: ${p.message}`);
    throw err;
  }
  throw new Error('import succeeded');
}

describe('sidecast import openapi', () => {
  test('petstore (3.0): operations with x-sidecast-event → EventRoutes; status defaults to the lowest 2xx', async () => {
    const { eventRoutes, operations } = await importOpenApi(PETSTORE, { service: 'petstore' });
    expect(operations).toBe(3);
    expect(eventRoutes.map((d) => [d.metadata.name, d.spec.match])).toEqual([
      ['create-pets', { method: 'POST', path: '/pets', status: [201] }],
      ['delete-pet-0', { method: 'DELETE', path: '/pets/{petId}', status: [204] }],
      ['pet-delete-refused', { method: 'DELETE', path: '/pets/{petId}', status: ['4xx'] }],
    ]);
    const created: Json = eventRoutes[0]!.spec.event;
    // No data given and the 201 has a JSON body: the event carries it.
    expect(created).toMatchObject({ type: 'io.petstore.pet.created.v1', data: { from: 'response_body' } });
    // 204 has no body: no data.
    expect(eventRoutes[1]!.spec.event.data).toBeUndefined();
    if (DATA_SCHEMA) {
      // The 201's schema, dereferenced, as JSON Schema (3.0's nullable → a null type, example dropped).
      expect(created.dataSchema.allOf[0].properties.tag).toEqual({ type: ['string', 'null'] });
      expect(created.dataSchema.allOf[1].required).toEqual(['id']);
      expect(eventRoutes[2]!.spec.event.dataSchema).toEqual({
        type: 'object',
        properties: { title: { type: 'string' } },
      });
    } else expect(created.dataSchema).toBeUndefined();
  });

  test('the bank accounts spec (3.1) gives the bank mesh rule; the printed YAML loads as a mesh', async () => {
    const result = await importOpenApi(BANK, { service: 'accounts' });
    expect(result.eventRoutes).toHaveLength(1);
    const [route] = result.eventRoutes;
    expect(route!.metadata.name).toBe('account-opened');
    expect(route!.spec).toMatchObject({
      service: 'accounts',
      match: { method: 'POST', path: '/accounts', status: [201] },
      event: {
        type: 'acme.bank.account.opened.v1',
        topic: 'acme/bank/account/opened/v1',
        subject: '{response.body.id}',
        partitionKey: '{response.body.id}',
        data: { from: 'response_body', redact: ['ssn'] },
        delivery: 'async',
      },
    });
    if (DATA_SCHEMA)
      expect((route!.spec.event as Json).dataSchema.properties.ssn).toEqual({ type: ['string', 'null'] });
    const yaml = toMeshYaml(result, 'bank-accounts.openapi.yaml');
    expect(yaml.split('\n')[0]).toBe(
      '# EventRoutes imported from bank-accounts.openapi.yaml by `sidecast import openapi` (1 of 2 operations carry x-sidecast-event).',
    );
    const mesh = parseMesh([
      {
        file: 'mesh.yaml',
        text: `apiVersion: sidecast.io/v1\nkind: Mesh\nmetadata: { name: bank }\nspec: {}\n---\napiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: accounts }\nspec: { endpoints: ['127.0.0.1:8081'] }\n`,
      },
      { file: 'imported.yaml', text: yaml },
    ]);
    expect(mesh.eventRoutes.map((r) => [r.name, r.rule.match])).toEqual([
      ['account-opened', { method: 'POST', path: '/accounts', status: [201] }],
    ]);
  });

  test('--base-path prefixes the paths the sidecar sees', async () => {
    const { eventRoutes } = await importOpenApi(BANK, { service: 'accounts', basePath: '/v1/' });
    expect(eventRoutes[0]!.spec.match.path).toBe('/v1/accounts');
  });

  test('invalid extensions: every problem named by its JSON pointer', async () => {
    const spec = minimal({
      '/accounts/{id}': post(
        { type: 'a.b', topic: 'a//b', sampling: 2, extra: 1 },
        { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] },
      ),
      '/cards': post({ type: 'c', topic: 'c/{path.nope}' }),
      '/files/{name}.json': post(
        { type: 'f', topic: 'f' },
        { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }] },
      ),
      '/x': post('emit'),
      '/y': post({ type: 'y', topic: 'y', status: ['3xx', 700] }),
    });
    const problems = await problemsOf(spec);
    expect(problems).toEqual(
      expect.arrayContaining([
        '#/paths/~1accounts~1{id}/post/x-sidecast-event/sampling: must be <= 1',
        expect.stringMatching(
          /^#\/paths\/~1accounts~1\{id\}\/post\/x-sidecast-event\/extra: unknown field; allowed here: type, topic, subject, partitionKey, data, maxBodyBytes, sampling, delivery, deadline, onFailure/,
        ),
        '#/paths/~1files~1{name}.json: segment "{name}.json": a path parameter must be a whole segment ({id}) for the emitter to match it',
        '#/paths/~1x/post/x-sidecast-event: must be an object like {type: …, topic: …} (or a list of them)',
        '#/paths/~1y/post/x-sidecast-event/status/1: must be one of the allowed forms (see docs/mesh-config.md)',
      ]),
    );
    // Model checks after the schema: a template naming no path parameter, the topic grammar.
    const model = await problemsOf(
      minimal({
        '/cards': post({ type: 'c', topic: 'c/{path.nope}' }),
        '/t': post({ type: 't', topic: 'a//b' }),
      }),
    );
    expect(model).toEqual(
      expect.arrayContaining([
        '#/paths/~1cards/post/x-sidecast-event/topic: {path.nope} is not a parameter of match.path /cards',
        expect.stringMatching(/^#\/paths\/~1t\/post\/x-sidecast-event\/topic: /),
      ]),
    );
  });

  test('an invalid OpenAPI document, a missing $ref and Swagger 2.0 are refused with pointers', async () => {
    expect(
      await problemsOf(
        minimal(
          { '/a': { post: { 'x-sidecast-event': {}, responses: { '201': { descriptio: 'x' } } } } },
          '3.0.3',
        ),
      ),
    ).toEqual(
      expect.arrayContaining([
        "#/paths/~1a/post/responses/201 must have required property 'description'".replace(' must', ': must'),
      ]),
    );
    expect(
      await problemsOf(
        minimal({
          '/a': {
            post: {
              responses: {
                '201': {
                  description: 'x',
                  content: { 'application/json': { schema: { $ref: '#/components/schemas/Nope' } } },
                },
              },
            },
          },
        }),
      ),
    ).toEqual([expect.stringMatching(/^#\/components\/schemas\/Nope: Missing \$ref pointer/)]);
    expect(await problemsOf({ swagger: '2.0', info: { title: 't', version: '1' }, paths: {} })).toEqual([
      '#/openapi: OpenAPI 3.0 or 3.1 is needed (got swagger 2.0)',
    ]);
  });

  test('the printed YAML is plain mesh YAML (one EventRoute per document)', async () => {
    const yaml = toMeshYaml(await importOpenApi(PETSTORE, { service: 'petstore' }), 'petstore.openapi.yaml');
    const docs = yaml
      .split(/^---$/m)
      .slice(1)
      .map((d) => parse(d) as Json);
    expect(docs.map((d) => [d.kind, d.metadata.name, d.spec.service])).toEqual([
      ['EventRoute', 'create-pets', 'petstore'],
      ['EventRoute', 'delete-pet-0', 'petstore'],
      ['EventRoute', 'pet-delete-refused', 'petstore'],
    ]);
  });
});
