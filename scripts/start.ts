// The main job. Until the xds-server and broker-bridge land, it only reports the built filters.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const build = new URL('../build/', import.meta.url).pathname;
const wasm = existsSync(build) ? readdirSync(build).filter((f) => f.endsWith('.wasm')) : [];
if (wasm.length === 0) console.log('sidecast: no filters built yet (filters/<name>/asconfig.json)');
for (const f of wasm) console.log(`sidecast: ${join(build, f)} (${statSync(join(build, f)).size} bytes)`);
