// `sidecast image push <ref>`: the event-emitter as an OCI image per Istio's Wasm image spec
// (deploy/oci/), pushed over the distribution API; prints the digest to pin in WasmPlugins. The
// password comes from SIDECAST_REGISTRY_PASSWORD, never a flag (it would land in shell history).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { pushWasmImage } from '../../deploy/oci/registry.js';
import { wasmImage, type WasmVariant } from '../../deploy/oci/wasm-image.js';
import { action } from '../action.js';
import { CliError, EXIT } from '../exit-codes.js';
import { packageRoot } from '../package-root.js';
import { progress } from '../progress.js';

interface PushFlags {
  variant: string;
  wasm?: string;
  plainHttp?: boolean;
  caFile?: string;
  username?: string;
}

function variant(v: string): WasmVariant {
  if (v !== 'oci' && v !== 'compat')
    throw new CliError(`--variant must be oci or compat, got "${v}"`, EXIT.usage);
  return v;
}

function readWasm(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(
      `${path}: ${(e as Error).message} (build it with \`npm run build:wasm\` or pass --wasm)`,
      EXIT.invalid,
    );
  }
}

export function register(program: Command): void {
  const image = program.command('image').description('the event-emitter filter as an OCI image');
  image
    .command('push')
    .description('build the event-emitter OCI image (Istio Wasm image spec) and push it; prints the digest')
    .argument('<ref>', 'registry/repository[:tag], e.g. 127.0.0.1:5000/sidecast/event-emitter:0.1.0')
    .option(
      '--variant <variant>',
      'oci (media type application/vnd.module.wasm.content.layer.v1+wasm) or compat',
      'oci',
    )
    .option('--wasm <file>', 'the module to push (default: the package’s build/event-emitter.wasm)')
    .option('--plain-http', 'talk plain HTTP to the registry (local registries only)')
    .option('--ca-file <file>', 'extra CA certificate for an HTTPS registry')
    .option(
      '--username <user>',
      'registry user (password in SIDECAST_REGISTRY_PASSWORD)',
      process.env.SIDECAST_REGISTRY_USERNAME,
    )
    .addHelpText(
      'after',
      '\nExit: 0 pushed, 1 unreadable module, 2 bad flag, 3 registry refused or unreachable.\nExample: sidecast image push --plain-http 127.0.0.1:5000/sidecast/event-emitter:0.1.0',
    )
    .action(
      action('image push', async (ref: string, flags: PushFlags) => {
        const v = variant(flags.variant);
        const module = readWasm(flags.wasm ?? join(packageRoot(), 'build/event-emitter.wasm'));
        const done = progress(`pushing ${ref} (${v} variant)`);
        try {
          const { digest, url } = await pushWasmImage(ref, wasmImage(module, v), {
            plainHttp: flags.plainHttp,
            caFile: flags.caFile,
            username: flags.username,
            password: process.env.SIDECAST_REGISTRY_PASSWORD,
          });
          done.done(digest);
          console.log(`pushed ${ref} (${v} variant)\ndigest: ${digest}\nurl:    ${url}`);
        } catch (e) {
          done.fail((e as Error).message);
          throw new CliError((e as Error).message, EXIT.unavailable);
        }
      }),
    );
}
