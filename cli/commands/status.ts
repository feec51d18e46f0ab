// `sidecast status`: what each connected node has been sent and has ACKed or NACKed, per type,
// from the xds-server's /debug/syncz — the `istioctl proxy-status` of sidecast.
import type { Command } from 'commander';
import { Option } from 'commander';
import { action } from '../action.js';
import { CliError, EXIT } from '../exit-codes.js';
import { green, red, yellow } from '../output.js';
import { table } from '../table.js';
import { fetchAdmin } from '../admin-client.js';

interface TypeStatus {
  typeUrl: string;
  state: string;
  cacheVersion: string;
  sent?: { version: string };
  acked?: { version: string };
  lastNack?: { version: string; message: string };
}
interface Syncz {
  controlPlane: string;
  streams: Array<{ nodeId: string; group: string; protocol: string; types: TypeStatus[] }>;
  nacks: Array<{ nodeId: string; typeUrl: string; version?: string; message?: string; at?: string }>;
}

const shortType = (url: string) => url.slice(url.lastIndexOf('.') + 1);
const version = (v: string | undefined) => (v ? v.slice(0, 12) : '-');
const STATE: Record<string, (s: string) => string> = {
  SYNCED: green,
  NACKED: red,
  STALE: yellow,
  NOT_SENT: yellow,
};

export function statusTable(z: Syncz): string {
  const rows = z.streams.flatMap((s) =>
    s.types.map((t) => [
      s.nodeId,
      s.group,
      shortType(t.typeUrl),
      (STATE[t.state] ?? String)(t.state),
      version(t.sent?.version),
      version(t.acked?.version),
      t.lastNack ? t.lastNack.message.replace(/\s+/g, ' ').slice(0, 100) : '',
    ]),
  );
  if (rows.length === 0) return `no node is connected to ${z.controlPlane}`;
  return table(['NODE', 'GROUP', 'TYPE', 'STATE', 'SENT', 'ACKED', 'LAST NACK'], rows);
}

export function register(program: Command): void {
  program
    .command('status')
    .description(
      'per connected node and type: sent and ACKed version, NACKs (from the xds-server /debug/syncz)',
    )
    .addOption(
      new Option('--xds <url>', 'xds-server admin URL')
        .env('SIDECAST_XDS_ADMIN_URL')
        .default('http://127.0.0.1:18001'),
    )
    .addOption(
      new Option('--token <token>', 'admin bearer token (--admin-token of the xds-server)').env(
        'SIDECAST_ADMIN_TOKEN',
      ),
    )
    .option('--format <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      '\nExit: 0 shown, 2 usage, 3 xds-server unreachable or refusing.\nExample: sidecast status --xds http://127.0.0.1:18001',
    )
    .action(
      action('status', async (o: { xds: string; token?: string; format: string }) => {
        if (o.format !== 'table' && o.format !== 'json')
          throw new CliError(`--format must be "table" or "json", got "${o.format}"`, EXIT.usage);
        const z = (await fetchAdmin(o.xds, '/debug/syncz', { token: o.token, what: 'xds-server' })) as Syncz;
        if (o.format === 'json') return void process.stdout.write(`${JSON.stringify(z, null, 2)}\n`);
        console.log(statusTable(z));
        const gone = z.nacks.filter((n) => !z.streams.some((s) => s.nodeId === n.nodeId));
        if (gone.length)
          console.log(
            `\nNACKs from nodes no longer connected:\n${gone.map((n) => `  ${n.nodeId} ${shortType(n.typeUrl)} ${version(n.version)}: ${n.message ?? ''}`).join('\n')}`,
          );
      }),
    );
}
