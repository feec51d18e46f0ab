// `sidecast asyncapi <mesh> [-o file]`: the mesh's events as an AsyncAPI 3.0 document
// (cli/asyncapi/document.ts); YAML unless the output file ends in .json or --format json.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadMesh } from '../../xds-server/mesh/index.js';
import { action } from '../action.js';
import { asyncApiDocument } from '../asyncapi/document.js';
import { CliError, EXIT } from '../exit-codes.js';

export function register(program: Command): void {
  program
    .command('asyncapi')
    .description(
      'generate an AsyncAPI 3.0 document from a mesh: topics, send/receive operations, CloudEvents messages',
    )
    .argument('<mesh>', 'mesh YAML file, or a directory of them')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--format <format>', 'yaml or json (default: from the file name, else yaml)')
    .option('--title <title>', 'info.title (default "<mesh name> event mesh")')
    .option('--doc-version <version>', 'info.version of the document', '1.0.0')
    .addHelpText('after', '\nExample: sidecast asyncapi examples/bank/mesh.yaml -o asyncapi.yaml')
    .action(
      action(
        'asyncapi',
        async (path: string, o: { output?: string; format?: string; title?: string; docVersion: string }) => {
          const format = o.format ?? (o.output?.endsWith('.json') ? 'json' : 'yaml');
          if (format !== 'yaml' && format !== 'json')
            throw new CliError(`--format must be "yaml" or "json", got "${format}"`, EXIT.usage);
          const doc = asyncApiDocument(loadMesh(path), { title: o.title, version: o.docVersion });
          const text =
            format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 });
          if (!o.output) return void process.stdout.write(text);
          try {
            writeFileSync(o.output, text);
          } catch (e) {
            throw new CliError(`cannot write ${o.output}: ${(e as Error).message}`, EXIT.invalid);
          }
          process.stderr.write(`wrote ${o.output} (AsyncAPI 3.0.0)\n`);
        },
      ),
    );
}
