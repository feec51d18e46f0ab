// `npm run image:wasm -- <registry>/<repo>[:tag] [--variant oci|compat] [--plain-http] [--ca-file f]
//   [--username u]` builds the event-emitter's OCI image and pushes it; the password comes from
// SIDECAST_REGISTRY_PASSWORD (never a flag: it would land in shell history). Prints the digest and
// the pinned `oci://…@sha256:…` URL for `sidecast install --mode istio --wasm-image`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pushWasmImage } from './oci/registry.js';
import { wasmImage, type WasmVariant } from './oci/wasm-image.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    variant: { type: 'string', default: 'oci' },
    wasm: { type: 'string', default: new URL('../build/event-emitter.wasm', import.meta.url).pathname },
    'plain-http': { type: 'boolean' },
    'ca-file': { type: 'string' },
    username: { type: 'string', default: process.env.SIDECAST_REGISTRY_USERNAME },
  },
});
try {
  const [ref] = positionals;
  if (!ref || positionals.length > 1)
    throw new Error('give one image reference, e.g. 127.0.0.1:5000/sidecast/event-emitter:0.1.0');
  if (values.variant !== 'oci' && values.variant !== 'compat')
    throw new Error(`--variant must be oci or compat, got "${values.variant}"`);
  const image = wasmImage(readFileSync(values.wasm), values.variant as WasmVariant);
  const { digest, url } = await pushWasmImage(ref, image, {
    plainHttp: values['plain-http'],
    caFile: values['ca-file'],
    username: values.username,
    password: process.env.SIDECAST_REGISTRY_PASSWORD,
  });
  console.log(`pushed ${ref} (${values.variant} variant)\ndigest: ${digest}\nurl:    ${url}`);
} catch (e) {
  console.error(`sidecast image push: ${(e as Error).message}`);
  process.exit(1);
}
