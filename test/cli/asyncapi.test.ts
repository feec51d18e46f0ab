// `sidecast asyncapi`: the generated AsyncAPI 3.0 document parses with @asyncapi/parser (the
// reference parser with its Spectral rule set) without errors or warnings, on the bank mesh and on
// a mesh with template placeholders; and the command writes it, or fails in one line.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { Parser } from '@asyncapi/parser';
import { parse as parseYaml } from 'yaml';
import { asyncApiDocument } from '../../cli/asyncapi/document.js';
import { loadMesh } from '../../xds-server/mesh/index.js';
import { fixture, sidecast } from './run-cli.js';

/** Diagnostics at error (0) or warning (1) severity; info and hints are suggestions. */
async function problems(doc: unknown): Promise<string[]> {
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
  expect(document).toBeDefined();
  return diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} ${d.path.join('.')}: ${d.message}`);
}

describe('the document', () => {
  test('bank mesh: valid AsyncAPI 3.0, one send per EventRoute, one receive per Subscription, ce-* headers', async () => {
    const doc = asyncApiDocument(loadMesh(fixture('bank-mesh.yaml'))) as Record<string, Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(await problems(doc)).toEqual([]);
    expect(doc.asyncapi).toBe('3.0.0');
    const ops = doc.operations!;
    expect(Object.entries(ops).map(([k, v]) => `${k} ${v.action}`)).toEqual([
      'send-account-opened send',
      'receive-account-trail receive',
      'receive-bank-metrics receive',
      'receive-welcome-email receive',
    ]);
    // welcome-email subscribes to the exact topic: it shares the EventRoute's channel.
    expect(ops['receive-welcome-email'].channel).toEqual(ops['send-account-opened'].channel);
    expect(doc.channels!['acme.bank.any.opened.v1']).toMatchObject({
      address: 'acme/bank/{level3}/opened/v1',
      parameters: { level3: expect.any(Object) },
    });
    const msg = doc.components!.messages['account-opened'];
    expect(msg.headers.properties['ce-type']).toEqual(
      expect.objectContaining({ const: 'acme.bank.account.opened.v1' }),
    );
    expect(msg.headers.properties['ce-source'].const).toBe('//bank.example/accounts');
    expect(Object.keys(msg.headers.properties)).toEqual(
      expect.arrayContaining(['ce-id', 'ce-specversion', 'ce-time', 'ce-subject', 'ce-partitionkey']),
    );
  });

  test('template placeholders become channel parameters; still no errors or warnings', async () => {
    const doc = asyncApiDocument(loadMesh(fixture('lint-mesh.yaml'))) as Record<string, Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(await problems(doc)).toEqual([]);
    expect(doc.channels!['shop.orders.response.body.region.placed']).toMatchObject({
      address: 'shop/orders/{response_body_region}/placed',
      parameters: {
        response_body_region: { description: "the emitter's {response.body.region} for each call" },
      },
    });
  });
});

describe('the command', () => {
  test('-o writes YAML that parses to the same document; a broken mesh is exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sidecast-asyncapi-'));
    try {
      const out = join(dir, 'bank.asyncapi.yaml');
      const r = await sidecast(['asyncapi', fixture('bank-mesh.yaml'), '-o', out]);
      expect(r.code).toBe(0);
      expect(r.stderr.trim()).toBe(`wrote ${out} (AsyncAPI 3.0.0)`);
      expect(parseYaml(await readFile(out, 'utf8'))).toEqual(
        asyncApiDocument(loadMesh(fixture('bank-mesh.yaml'))),
      );
      const broken = await sidecast(['asyncapi', fixture('broken-mesh.yaml')]);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toBe('');
      expect(broken.stderr).toContain('invalid mesh configuration (2 problems)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
