// Loads every compiled Node addon (*.node) under node_modules with the running `node`, so CI learns
// at install time — not in the middle of a suite — that an addon was built for another Node ABI
// (node-gyp addons such as ssh2's sshcrypto must be rebuilt per major; N-API ones must still load).
// Prints one line per addon and exits 1 if any fails to load.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);

function* addons(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    // obj.target/ holds node-gyp's intermediate copy of the same binary.
    if (e.isDirectory() && e.name !== 'obj.target') yield* addons(p);
    else if (e.isFile() && e.name.endsWith('.node')) yield p;
  }
}

let failed = 0;
let loaded = 0;
for (const file of addons(join(root, 'node_modules'))) {
  const name = relative(root, file);
  try {
    require(file);
    loaded++;
    console.log(`native addon ok: ${name}`);
  } catch (e) {
    failed++;
    console.log(`native addon FAILED on node ${process.version}: ${name}: ${e.message.split('\n')[0]}`);
  }
}
console.log(
  `native addons: ${loaded} loaded, ${failed} failed on node ${process.version} (ABI ${process.versions.modules})`,
);
process.exit(failed > 0 ? 1 : 0);
