import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadMesh, MeshConfigError, parseMesh, type MeshIssue } from '../../xds-server/mesh/index.js';
import { BANK_FILE } from './bank.js';

const header = (kind: string, name: string) =>
  `apiVersion: sidecast.io/v1\nkind: ${kind}\nmetadata: { name: ${name} }\n`;
const service = (name: string, extra = '') =>
  `${header('Service', name)}spec:\n  endpoints: ["127.0.0.1:9000"]\n${extra}`;

/** The issues a config produces (fails the test if it loads). */
function issuesOf(text: string, file = 'mesh.yaml'): MeshIssue[] {
  try {
    parseMesh([{ file, text }]);
  } catch (e) {
    expect(e).toBeInstanceOf(MeshConfigError);
    return (e as MeshConfigError).issues;
  }
  throw new Error('expected the config to be rejected');
}

describe('mesh config loading', () => {
  it('counts problems, not documents: a bad name and a bad field in one document are 2 problems', () => {
    const text = `${header('Mesh', 'm')}spec:\n  bridge: { address: 127.0.0.1, port: 8090 }\n  source: '//m'\n  emitter: { wasmFile: /x.wasm }\n---\n${header('Service', 'Bad_Name')}spec:\n  endpoints: ['no-port']\n`;
    const issues = issuesOf(text);
    expect(issues.map((i) => [i.document, i.field])).toEqual([
      [2, 'metadata.name'],
      [2, 'spec.endpoints[0]'],
    ]);
    expect(() => parseMesh([{ file: 'mesh.yaml', text }])).toThrow(
      /^invalid mesh configuration \(2 problems\):/,
    );
  });

  it('loads the bank example', () => {
    const c = loadMesh(BANK_FILE);
    expect(c.mesh.name).toBe('bank');
    expect(c.mesh.bridge).toMatchObject({ host: '127.0.0.1', port: 8090, path: '/v1/events' });
    expect(c.services.map((s) => s.name)).toEqual(['accounts', 'analytics', 'audit', 'notifications']);
    expect(c.services.map((s) => s.endpoints[0]!.port)).toEqual([8081, 8084, 8083, 8082]);
    expect(c.eventRoutes).toHaveLength(1);
    expect(c.eventRoutes[0]!.rule).toEqual({
      name: 'account-opened',
      match: { method: 'POST', path: '/accounts', status: [201] },
      event: {
        type: 'acme.bank.account.opened.v1',
        topic: 'acme/bank/account/opened/v1',
        subject: '{response.body.id}',
        partitionkey: '{response.body.id}',
        data: { from: 'response_body', redact: ['ssn'] },
        delivery: 'async',
      },
    });
    const withDlq = c.subscriptions.find((s) => s.delivery.deadLetterTopic);
    expect(withDlq?.delivery).toMatchObject({
      orderByKey: true,
      deadLetterTopic: 'acme/bank/dlq/notifications',
    });
    expect(c.subscriptions.map((s) => s.service).sort()).toEqual(['analytics', 'audit', 'notifications']);
  });

  it('names file, document, kind/name, field and line of a typo', () => {
    const text = `${service('a')}---\n${header('EventRoute', 'r')}spec:\n  service: a\n  match: { path: /x }\n  event:\n    type: t\n    topic: a/b\n    subjet: "{response.body.id}"\n`;
    const [issue, ...rest] = issuesOf(text, 'conf/bank.yaml');
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({
      file: 'conf/bank.yaml',
      document: 2,
      kind: 'EventRoute',
      name: 'r',
      field: 'spec.event.subjet',
      line: 16,
    });
    expect(issue!.message).toContain('unknown field');
    expect(issue!.message).toContain('subject');
    expect(String(new MeshConfigError([issue!]).message)).toContain(
      'conf/bank.yaml:16, document 2 (EventRoute r), field spec.event.subjet',
    );
  });

  it('reports every problem at once: types, required fields, durations, enums', () => {
    const text = `${header('Service', 'a')}spec:\n  endpoints: ["127.0.0.1"]\n  sidecar: { inboundPort: "15006" }\n---\n${header('Subscription', 's')}spec:\n  service: a\n  topics: []\n  delivery: { timeout: 5 seconds, retry: { backoff: random } }\n`;
    const got = issuesOf(text).map((i) => `${i.document} ${i.field}: ${i.message}`);
    expect(got).toEqual(
      expect.arrayContaining([
        '1 spec.endpoints[0]: must be host:port, e.g. 127.0.0.1:8081',
        '1 spec.sidecar.inboundPort: must be integer',
        '2 spec.topics: must NOT have fewer than 1 items',
        '2 spec.delivery.path: is required',
        '2 spec.delivery.timeout: must be a duration like 500ms, 5s, 2m or 1h',
        '2 spec.delivery.retry.backoff: must be one of "exponential", "linear"',
      ]),
    );
  });

  it('checks the envelope: apiVersion, kind, metadata.name', () => {
    const got = issuesOf(`apiVersion: v1\nkind: Servce\nmetadata: { name: Bad_Name }\nspec: {}\n`).map(
      (i) => `${i.field}: ${i.message}`,
    );
    expect(got).toEqual(
      expect.arrayContaining([
        'apiVersion: must be one of "sidecast.io/v1alpha1", "sidecast.io/v1"',
        'kind: must be one of "Mesh", "Service", "MeshService", "EventRoute", "Subscription"',
        'metadata.name: must be a lowercase DNS label (a-z, 0-9, "-", at most 63 characters)',
      ]),
    );
  });

  it('checks references, duplicates, topics and templates across documents', () => {
    const text = [
      service('a', '  calls: [ghost]\n'),
      service('a'),
      `${header('EventRoute', 'r')}spec:\n  service: nobody\n  match: { method: POST, path: "/accounts/{id}" }\n  event: { type: t, topic: "acme//{path.id}", subject: "{path.idd}", partitionKey: "{request.cookie.x}" }\n`,
      `${header('Subscription', 's')}spec:\n  service: a\n  topics: ["acme/>/x"]\n  delivery: { path: /e, deadLetterTopic: "dlq/*" }\n`,
    ].join('---\n');
    const got = issuesOf(text).map((i) => `${i.document} ${i.field}: ${i.message}`);
    expect(got).toEqual(
      expect.arrayContaining([
        '1 spec.calls[0]: service "ghost" is not defined by any Service document',
        expect.stringMatching(
          /^2 metadata.name: duplicate Service "a" \(first defined in mesh.yaml document 1\)/,
        ),
        '3 spec.service: service "nobody" is not defined by any Service document',
        expect.stringMatching(/^3 spec.event.topic: invalid topic .*empty level/),
        '3 spec.event.subject: {path.idd} is not a parameter of match.path /accounts/{id}',
        expect.stringMatching(/^3 spec.event.partitionKey: unknown template source \{request.cookie.x\}/),
        expect.stringMatching(/^4 spec.topics\[0\]: invalid topic .*">" may only be the last level/),
        expect.stringMatching(/^4 spec.delivery.deadLetterTopic: invalid topic .*wildcard/),
      ]),
    );
  });

  it('reports YAML syntax errors with their line', () => {
    const [issue] = issuesOf(`${service('a')}---\nkind: [unclosed\n`);
    expect(issue).toMatchObject({ file: 'mesh.yaml', document: 2 });
    expect(issue!.line).toBeGreaterThanOrEqual(6);
    expect(issue!.message).toMatch(/^YAML: /);
  });

  it('refuses a route match with neither routeName nor path, and guaranteed-only fields on async', () => {
    const text = `${service('a')}---\n${header('EventRoute', 'r')}spec:\n  service: a\n  match: { method: GET }\n  event: { type: t, topic: a/b, deadline: 500ms }\n`;
    const got = issuesOf(text).map((i) => `${i.field}: ${i.message}`);
    expect(got).toEqual(['spec.match: needs routeName or path (or both)']);
    const text2 = `${service('a')}---\n${header('EventRoute', 'r')}spec:\n  service: a\n  match: { routeName: create }\n  event: { type: t, topic: a/b, deadline: 500ms }\n`;
    expect(issuesOf(text2).map((i) => `${i.field}: ${i.message}`)).toEqual([
      'spec.event.deadline: only applies when delivery is "guaranteed"',
    ]);
    const text3 = `${service('a')}---\n${header('EventRoute', 'r')}spec:\n  service: a\n  match: { path: /x, headers: [{ name: x-a, exact: b, present: true }] }\n  event: { type: t, topic: a/b, data: { from: none, redact: [x] } }\n`;
    expect(issuesOf(text3).map((i) => `${i.field}: ${i.message}`)).toEqual([
      'spec.match.headers[0]: give exactly one of exact, present',
    ]);
    const text4 = text3.replace(', present: true', '');
    expect(issuesOf(text4).map((i) => `${i.field}: ${i.message}`)).toEqual([
      'spec.event.data: field and redact need from: request_body or response_body',
    ]);
  });

  describe('directories', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecast-mesh-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads every .yaml/.yml below a directory, skipping hidden and other files', () => {
      mkdirSync(join(dir, 'services'));
      writeFileSync(join(dir, 'services', 'a.yaml'), service('a'));
      writeFileSync(join(dir, 'services', 'b.yml'), service('b'));
      writeFileSync(join(dir, '.hidden.yaml'), 'not: [valid');
      writeFileSync(join(dir, 'README.md'), '# notes');
      writeFileSync(join(dir, 'empty.yaml'), '# nothing yet\n');
      const c = loadMesh(dir);
      expect(c.services.map((s) => s.name)).toEqual(['a', 'b']);
      expect(c.files.map((f) => f.slice(dir.length))).toEqual([
        '/empty.yaml',
        '/services/a.yaml',
        '/services/b.yml',
      ]);
    });

    it('says what is wrong with a missing path', () => {
      expect(() => loadMesh(join(dir, 'nope.yaml'))).toThrow(/nope.yaml: cannot read: no such file/);
    });
  });
});
