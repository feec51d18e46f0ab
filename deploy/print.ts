// `npm run manifests -- [--mode envoy|istio] [--namespace sidecast] [--image sidecast:0.1.0]
//   [--producer-token T] [--wasm-image oci://…@sha256:…] [--watch-namespaces a,b]` prints the
// install for `kubectl apply -f -` (the same renderer as `sidecast install`).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { manifestsYaml, renderManifests, type InstallMode } from './manifests.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'envoy' },
    namespace: { type: 'string' },
    image: { type: 'string' },
    'producer-token': { type: 'string' },
    'wasm-image': { type: 'string' },
    'watch-namespaces': { type: 'string' },
    'storage-class': { type: 'string' },
    'no-service-monitor': { type: 'boolean' },
  },
});
if (values.mode !== 'envoy' && values.mode !== 'istio') {
  console.error(`--mode must be envoy or istio, got "${values.mode}"`);
  process.exit(2);
}
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
try {
  process.stdout.write(
    manifestsYaml(
      renderManifests({
        mode: values.mode as InstallMode,
        namespace: values.namespace,
        image: values.image,
        producerToken: values['producer-token'],
        wasmImage: values['wasm-image'],
        watchNamespaces: values['watch-namespaces']?.split(',').filter(Boolean),
        storageClassName: values['storage-class'],
        serviceMonitor: !values['no-service-monitor'],
        version,
      }),
    ),
  );
} catch (e) {
  console.error(`sidecast manifests: ${(e as Error).message}`);
  process.exit(2);
}
