// Where the sidecast package lives, from source (cli/…) or compiled (dist/cli/…): the first
// directory upwards whose package.json is named "sidecast". Shipped files (build/*.wasm, examples/)
// are found from there.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sidecast')
      return (root = dir);
    const up = dirname(dir);
    if (up === dir)
      throw new Error('cannot find the sidecast package root (no package.json named "sidecast" above cli/)');
    dir = up;
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}
