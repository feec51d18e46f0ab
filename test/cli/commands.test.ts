// `sidecast` as a user meets it: --help everywhere, usage errors, validate on a good, a broken and
// a missing mesh (text and JSON), and the two services started by the CLI with bad input refused in
// one line. Each run is a real child process; exit codes are the documented ones (cli/exit-codes.ts).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { eventually } from '../e2e/stack.js';
import { fixture, sidecast, sidecastServe } from './run-cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('help and usage', () => {
  test('--help lists every command and exits 0; each command has its own --help', async () => {
    const top = await sidecast(['--help']);
    expect(top.code).toBe(0);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z][\w-]*)(?: \[options\]| <)/gm)].map((m) => m[1]);
    expect(commands).toEqual(expect.arrayContaining(['start', 'xds-server', 'bridge', 'validate']));
    const helps = await Promise.all(
      commands.filter((c) => c !== 'help').map((c) => sidecast([c!, '--help'])),
    );
    for (const [i, h] of helps.entries()) {
      expect(`${commands[i]}: ${h.code}`).toBe(`${commands[i]}: 0`);
      expect(h.stdout).toContain(`Usage: sidecast ${commands[i]}`);
    }
  }, 300_000);

  test('an unknown command or flag is a usage error (exit 2) with one line saying what is wrong', async () => {
    const r = await sidecast(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe("error: unknown command 'frobnicate'");
    const f = await sidecast(['bridge', '--brokr', 'nats']);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain("unknown option '--brokr'");
  }, 180_000);
});

describe('sidecast validate', () => {
  test('a valid mesh: exit 0 and what it holds', async () => {
    const r = await sidecast(['validate', fixture('bank-mesh.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid \(4 services, 1 event routes, 3 subscriptions\)/);
  });

  test('a broken mesh: one line per problem as file:line, document, field: message; exit 1', async () => {
    const r = await sidecast(['validate', fixture('broken-mesh.yaml')]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /broken-mesh\.yaml:17, document 2 \(EventRoute opened\), field spec\.event\.topic: invalid topic "acme\/\/opened": empty level/,
      ),
      expect.stringMatching(
        /broken-mesh\.yaml:23, document 3 \(Subscription ghost\), field spec\.service: service "nobody" is not defined/,
      ),
      '2 problem(s) in ' + fixture('broken-mesh.yaml'),
    ]);
  });

  test('--format json: the same problems as objects with file, line and field', async () => {
    const r = await sidecast(['validate', fixture('broken-mesh.yaml'), '--format', 'json']);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as { valid: boolean; issues: Array<{ line: number; field: string }> };
    expect(body.valid).toBe(false);
    expect(body.issues.map((i) => `${i.line}:${i.field}`)).toEqual([
      '17:spec.event.topic',
      '23:spec.service',
    ]);
  });

  test('a missing file: one line naming it, exit 1; a bad --format: exit 2', async () => {
    const r = await sidecast(['validate', '/nonexistent/mesh.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')[0]).toMatch(
      /\/nonexistent\/mesh\.yaml: cannot read: no such file or directory/,
    );
    const f = await sidecast(['validate', fixture('bank-mesh.yaml'), '--format', 'xml']);
    expect(f.code).toBe(2);
    expect(f.stderr.trim()).toBe('sidecast validate: --format must be "text" or "json", got "xml"');
  });
});

describe('sidecast bridge and xds-server', () => {
  test('the standalone bridge keeps its state in ./.sidecast-data (git-ignored), never ./data', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'sidecast-bridge-cwd-'));
    dirs.push(cwd);
    const [http, grpc, admin] = [await freePort(), await freePort(), await freePort()];
    const b = sidecastServe(['bridge', '--log-level', 'info'], {
      cwd,
      env: {
        SIDECAST_BROKER_URL: '',
        SIDECAST_HTTP_PORT: String(http),
        SIDECAST_GRPC_PORT: String(grpc),
        SIDECAST_ADMIN_PORT: String(admin),
        SIDECAST_ALLOW_UNAUTHENTICATED: 'true',
      },
    });
    try {
      await eventually(
        'the bridge to start',
        () => b.output().includes('"bridge started"') || b.child.exitCode !== null,
        30_000,
      );
      expect(b.child.exitCode).toBeNull();
      // Logs are JSON lines when stdout is not a terminal.
      const started = b
        .output()
        .split('\n')
        .find((l) => l.includes('"bridge started"'))!;
      expect(JSON.parse(started)).toMatchObject({ msg: 'bridge started', broker: 'embedded' });
      expect(existsSync(join(cwd, '.sidecast-data', 'broker'))).toBe(true);
      expect(existsSync(join(cwd, '.sidecast-data', 'spool'))).toBe(true);
      expect(existsSync(join(cwd, 'data'))).toBe(false);
    } finally {
      expect(await b.stop()).toBe(0);
    }
    const ignore = await import('node:fs/promises').then((fs) =>
      fs.readFile(new URL('../../.gitignore', import.meta.url), 'utf8'),
    );
    expect(ignore.split('\n')).toContain('.sidecast-data/');
  }, 180_000);

  test('bad bridge input: a missing config file (exit 1), a broker that is no URL (exit 2), a busy port (exit 3)', async () => {
    const missing = await sidecast(['bridge', '--config', '/nonexistent/bridge.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(
      /^sidecast bridge: cannot read bridge config \/nonexistent\/bridge\.yaml: ENOENT/,
    );
    const bad = await sidecast(['bridge', '--broker', 'natz']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--broker "natz" is neither a URL');
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as { port: number }).port;
    const cwd = await mkdtemp(join(tmpdir(), 'sidecast-bridge-busy-'));
    dirs.push(cwd);
    try {
      const r = await sidecast(['bridge'], {
        cwd,
        env: {
          SIDECAST_HTTP_PORT: String(port),
          SIDECAST_GRPC_PORT: '0',
          SIDECAST_ADMIN_PORT: '0',
          SIDECAST_BROKER_URL: '',
        },
      });
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^sidecast bridge: .*EADDRINUSE/)]);
    } finally {
      busy.close();
    }
  }, 180_000);

  test('xds-server: serves the mesh, stops on SIGTERM with exit 0; a bad flag value is exit 2', async () => {
    const [grpc, admin] = [await freePort(), await freePort()];
    const x = sidecastServe([
      'xds-server',
      '--mesh',
      fixture('bank-mesh.yaml'),
      '--grpc',
      `127.0.0.1:${grpc}`,
      '--admin',
      `127.0.0.1:${admin}`,
    ]);
    try {
      await eventually(
        'the xds-server to listen',
        () => x.output().includes('xds-server listening') || x.child.exitCode !== null,
        30_000,
      );
      const res = await fetch(`http://127.0.0.1:${admin}/debug/syncz`);
      expect(res.status).toBe(200);
    } finally {
      expect(await x.stop()).toBe(0);
    }
    const bad = await sidecast(['xds-server', '--debounce-ms', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'sidecast xds-server: --debounce-ms must be a positive integer, got "soon"',
    );
  }, 180_000);
});
