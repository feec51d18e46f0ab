// `sidecast analyze`: each lint found where it is (file:line, field) on a fixture made to hold one
// of each, the broker carry checks coming from the bridge's own translators, and the command's
// exit codes on findings, a broken mesh and a missing file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { analyzeMesh } from '../../cli/commands/analyze.js';
import { fixture, sidecast } from './run-cli.js';

const lint = fixture('lint-mesh.yaml');
const brief = (broker?: Parameters<typeof analyzeMesh>[1]) =>
  analyzeMesh(lint, broker).map((f) => `${f.severity} ${f.code} ${f.line} ${f.field}`);

describe('lints', () => {
  test('without a broker: producer/consumer mismatches, overlaps, dead-letter loops, idempotency, body caps, ordering', () => {
    expect(brief()).toEqual([
      'warning SC103 20 spec.match',
      'warning SC108 23 spec.event.topic',
      'warning SC107 24 spec.event.delivery',
      'warning SC102 34 spec.event.topic',
      'warning SC101 41 spec.topics[1]',
      'warning SC109 44 spec.delivery.orderByKey',
      'error SC106 53 spec.delivery.deadLetterTopic',
    ]);
  });

  test('--broker nats adds the levels NATS cannot carry and the per-request levels it might not', () => {
    const nats = analyzeMesh(lint, 'nats');
    const carry = nats.filter((f) => f.code === 'SC104');
    expect(carry.map((f) => `${f.line} ${f.field}`)).toEqual(['34 spec.event.topic']);
    expect(carry[0]!.message).toContain('level "v1.2" contains "."');
    expect(carry[0]!.fix).toContain('v1_2');
    expect(nats.filter((f) => f.code === 'SC105').map((f) => f.line)).toEqual([23]);
    // The same mesh is fine on MQTT ('.' is an ordinary character there) and on the embedded broker.
    expect(analyzeMesh(lint, 'mqtt').some((f) => f.code === 'SC104')).toBe(false);
    expect(analyzeMesh(lint, 'embedded').some((f) => f.code === 'SC104' || f.code === 'SC105')).toBe(false);
  });

  test('a dead-letter chain that comes back (a → b → a) is a loop, reported on both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sidecast-analyze-'));
    const sub = (name: string, topic: string, dlt: string) =>
      `---\napiVersion: sidecast.io/v1\nkind: Subscription\nmetadata: { name: ${name} }\nspec:\n  service: s\n  topics: ['${topic}']\n  delivery: { path: /e, deadLetterTopic: ${dlt} }\n`;
    const file = join(dir, 'mesh.yaml');
    await writeFile(
      file,
      `apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: s }\nspec: { endpoints: ['127.0.0.1:1'] }\n${sub('a', 'x/a', 'x/b')}${sub('b', 'x/b', 'x/a')}`,
    );
    try {
      const loops = analyzeMesh(file).filter((f) => f.code === 'SC106');
      expect(loops.map((f) => f.message)).toEqual([
        'dead letters go round in a loop: a → b → a',
        'dead letters go round in a loop: b → a → b',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the bank mesh has nothing above info, even on NATS', () => {
    const bank = analyzeMesh(fixture('bank-mesh.yaml'), 'nats');
    expect(bank.filter((f) => f.severity !== 'info')).toEqual([]);
  });
});

describe('the command', () => {
  test('findings print as "severity code file:line …" plus a fix line; errors exit 1, --format json', async () => {
    const r = await sidecast(['analyze', lint, '--broker', 'nats']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^error SC104 .*lint-mesh\.yaml:34, document 4 \(EventRoute order-created-audit\), field spec\.event\.topic: nats cannot carry/m,
    );
    expect(r.stdout).toMatch(/^ {2}fix: NATS subjects use/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(`2 error(s), 6 warning(s), 1 info in ${lint}`);
    const j = await sidecast(['analyze', fixture('bank-mesh.yaml'), '--format', 'json', '--strict']);
    expect(j.code).toBe(0);
    const { findings } = JSON.parse(j.stdout) as { findings: Array<{ code: string; severity: string }> };
    expect(findings.every((f) => f.severity === 'info')).toBe(true);
  }, 180_000);

  test('a broken mesh gets its validation errors (exit 1); a missing file one line (exit 1); a bad --broker exit 2', async () => {
    const broken = await sidecast(['analyze', fixture('broken-mesh.yaml')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/invalid mesh configuration \(2 problems\)\n {2}.*broken-mesh\.yaml:17/);
    const missing = await sidecast(['analyze', '/nonexistent.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([
      'sidecast analyze: /nonexistent.yaml: cannot read: no such file or directory (give a YAML file or a directory of them)',
    ]);
    const bad = await sidecast(['analyze', lint, '--broker', 'zeromq']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'sidecast analyze: --broker must be one of embedded, nats, rabbitmq, mqtt, kafka, got "zeromq"',
    );
  }, 180_000);
});
