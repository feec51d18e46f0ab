// Runs the `sidecast` command from source as a child process, the way a user's shell would:
// exit code, stdout and stderr (no TTY, so logs are JSON and errors plain text).
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';

export const ROOT = new URL('../../', import.meta.url).pathname;
// tsx by path: `--import tsx` would resolve from the child's cwd, which tests move to temp dirs.
export const CLI = [
  '--import',
  pathToFileURL(`${ROOT}node_modules/tsx/dist/loader.mjs`).href,
  `${ROOT}cli/main.ts`,
];
export const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function sidecast(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `sidecast ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 120_000} ms:\n${stdout}\n${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running command; `lines()` is everything it printed so far. */
export function sidecastServe(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<number | null>;
} {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return {
    child,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
