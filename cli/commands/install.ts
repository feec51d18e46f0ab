// `sidecast install`: prints the whole Kubernetes install (deploy/manifests.ts) for
// `sidecast install | kubectl apply -f -`, as `linkerd install` does; nothing is applied from here.
import type { Command } from 'commander';
import { manifestsYaml, renderManifests, type InstallMode } from '../../deploy/manifests.js';
import { action } from '../action.js';
import { CliError, EXIT } from '../exit-codes.js';
import { packageVersion } from '../package-root.js';

interface InstallFlags {
  mode: string;
  namespace?: string;
  image?: string;
  producerToken?: string;
  wasmImage?: string;
  watchNamespaces?: string;
  storageClass?: string;
  bridgeStorage?: string;
  serviceMonitor: boolean;
}

function mode(v: string): InstallMode {
  if (v !== 'envoy' && v !== 'istio')
    throw new CliError(`--mode must be envoy or istio, got "${v}"`, EXIT.usage);
  return v;
}

export function register(program: Command): void {
  program
    .command('install')
    .description(
      'print the Kubernetes manifests (CRDs, RBAC, xds-server, broker-bridge, Istio policy) for kubectl apply',
    )
    .option(
      '--mode <mode>',
      'envoy (sidecast serves the sidecars) or istio (istiod does; sidecast renders WasmPlugins)',
      'envoy',
    )
    .option('--namespace <ns>', 'namespace of the sidecast components', 'sidecast')
    .option('--image <image>', 'the sidecast container image (deploy/Dockerfile); default sidecast:<version>')
    .option(
      '--producer-token <token>',
      'envoy mode: bearer token sidecars send to the bridge (≥ 16 characters)',
    )
    .option('--wasm-image <url>', 'istio mode: oci://host/repo@sha256:… as printed by `sidecast image push`')
    .option('--watch-namespaces <a,b>', 'namespaces the controller watches (default: all)')
    .option('--storage-class <name>', 'storage class of the bridge volume')
    .option('--bridge-storage <size>', 'size of the bridge volume (embedded broker + spool)', '5Gi')
    .option('--no-service-monitor', 'leave out the prometheus-operator ServiceMonitor')
    .addHelpText(
      'after',
      '\nExit: 0 printed, 2 bad flag.\nExample: sidecast install --mode istio --wasm-image oci://registry.example.com/sidecast/event-emitter@sha256:… | kubectl apply -f -',
    )
    .action(
      action('install', async (flags: InstallFlags) => {
        let yaml: string;
        try {
          yaml = manifestsYaml(
            renderManifests({
              mode: mode(flags.mode),
              namespace: flags.namespace,
              image: flags.image,
              producerToken: flags.producerToken,
              wasmImage: flags.wasmImage,
              watchNamespaces: flags.watchNamespaces?.split(',').filter(Boolean),
              storageClassName: flags.storageClass,
              bridgeStorage: flags.bridgeStorage,
              serviceMonitor: flags.serviceMonitor,
              version: packageVersion(),
            }),
          );
        } catch (e) {
          if (e instanceof CliError) throw e;
          throw new CliError((e as Error).message, EXIT.usage);
        }
        process.stdout.write(yaml);
      }),
    );
}
