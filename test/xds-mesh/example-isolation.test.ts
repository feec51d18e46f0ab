// The README invites editing examples/bank/mesh.yaml while `npm start` runs. No suite may read a
// mesh file under examples/ (they use test/fixtures/), so an edit left in place cannot fail npm test.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const TEST_DIR = new URL('..', import.meta.url).pathname;
// A path into examples/ naming a config file (YAML/JSON), however it is spelled in the source.
const EXAMPLE_CONFIG = /examples\/[\w./-]*\.(?:ya?ml|json)\b|['"]examples['"]\s*,\s*['"]bank['"]\s*,\s*['"]mesh/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'bench' ? [] : sources(p);
    return /\.(?:ts|mjs|js)$/.test(d.name) ? [p] : [];
  });
}

describe('test suites and the user-editable examples', () => {
  it('no suite reads a mesh/config file under examples/ (an edited example leaves npm test green)', () => {
    const offenders = sources(TEST_DIR).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(TEST_DIR, file)}:${i + 1}` }))
        .filter(({ line }) => !line.trim().startsWith('//') && EXAMPLE_CONFIG.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(offenders).toEqual([]);
  });
});
