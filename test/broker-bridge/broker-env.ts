// Is a real broker reachable on loopback? Suites that need one call this at module level:
// reachable -> run; unreachable -> under CI throw (the suite fails), otherwise skip with one
// printed line. Never a silent skip.
import { createConnection } from 'node:net';

export function tcpReachable(port: number, host = '127.0.0.1', timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** True when `name` answers on host:port; false (one printed line) when not and not under CI; throws under CI. */
export async function brokerReachable(name: string, port: number, host = '127.0.0.1'): Promise<boolean> {
  if (await tcpReachable(port, host)) return true;
  const what = `${name} is not reachable on ${host}:${port}`;
  if (process.env.CI)
    throw new Error(`${what}; CI needs it (scripts/ensure-services.sh starts the local brokers)`);
  console.log(`SKIPPED: ${what}; start it (scripts/ensure-services.sh) to run these tests`);
  return false;
}
