// Long-running commands (start, bridge, xds-server) stop on SIGTERM, SIGINT or SIGHUP — from a
// terminal, `docker stop`, systemd, or npm forwarding its own signal — within a bound: a clean stop
// that hangs past `boundMs` is cut short, and a second signal exits at once.
export interface StopOptions {
  /** Longest a clean stop may take before the process exits anyway (default 15 s). */
  boundMs?: number;
  /** Told when a stop begins, and when it failed or ran out of time. */
  say?: (line: string) => void;
}

export function stopOnSignals(stop: () => Promise<void>, opts: StopOptions = {}): void {
  const bound = opts.boundMs ?? 15_000;
  const say = opts.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      say(`${signal} again: exiting without waiting for the clean stop`);
      process.exit(130);
    }
    stopping = true;
    say(`${signal}: stopping (at most ${Math.round(bound / 1000)} s; send it again to exit at once)`);
    const timer = setTimeout(() => {
      say(`clean stop took longer than ${Math.round(bound / 1000)} s; exiting anyway`);
      process.exit(1);
    }, bound);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (e: Error) => {
        say(`stop failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onSignal);
}
