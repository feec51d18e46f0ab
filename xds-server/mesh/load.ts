// Reads a mesh config file, or every *.yaml/*.yml under a directory, into a validated MeshConfig.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readDocuments, type DocumentCache, type MeshSource } from './documents.js';
import { buildModel } from './model.js';
import { MeshConfigError, type MeshConfig, type MeshIssue } from './types.js';

/**
 * Parses and validates in-memory sources; throws MeshConfigError listing every problem. With a
 * `cache` (kept across calls) only documents whose text changed are parsed again; the result is the same.
 */
export function parseMesh(sources: MeshSource[], cache?: DocumentCache): MeshConfig {
  const issues: MeshIssue[] = [];
  const sorted = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const docs = readDocuments(sorted, issues, cache);
  const config = buildModel(
    docs,
    sorted.map((s) => s.file),
    issues,
  );
  if (issues.length) throw new MeshConfigError(issues);
  return config;
}

/** The files a path stands for: itself, or the YAML files below a directory (hidden ones skipped). */
export function meshFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new MeshConfigError([
      {
        file: path,
        message: 'cannot read: no such file or directory (give a YAML file or a directory of them)',
      },
    ]);
  }
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(entry.name)) out.push(p);
    }
  };
  walk(path);
  if (out.length === 0)
    throw new MeshConfigError([{ file: path, message: 'directory holds no .yaml or .yml files' }]);
  return out.sort();
}

export function loadMesh(path: string, cache?: DocumentCache): MeshConfig {
  return parseMesh(
    meshFiles(path).map((f) => {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (e) {
        throw new MeshConfigError([{ file: f, message: `cannot read: ${(e as Error).message}` }]);
      }
      return { file: f, text };
    }),
    cache,
  );
}
