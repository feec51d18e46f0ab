// Is there a container runtime for testcontainers? Every suite in test/integration asks this at
// module level: runtime found → run; none → print ONE line naming the suite and why, and skip.
// Set SIDECAST_REQUIRE_CONTAINERS=1 (CI machines that do have Docker) to make a missing runtime
// fail the suite instead, so a broken runtime is never mistaken for a green run.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';

/** Where Docker and Podman put their API sockets when DOCKER_HOST does not say. */
function knownSockets(): string[] {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  return [
    '/var/run/docker.sock',
    join(homedir(), '.docker/run/docker.sock'),
    join(homedir(), '.colima/default/docker.sock'),
    ...(runtimeDir ? [join(runtimeDir, 'podman/podman.sock'), join(runtimeDir, 'docker.sock')] : []),
    '/run/podman/podman.sock',
  ];
}

/** Why testcontainers cannot start containers here, in words a reader can act on. */
function explain(error: Error): string {
  const first = error.message.split('\n')[0]!;
  if (process.env.DOCKER_HOST) return `DOCKER_HOST=${process.env.DOCKER_HOST} does not answer: ${first}`;
  if (!knownSockets().some((s) => existsSync(s)))
    return 'docker socket absent: no /var/run/docker.sock or podman socket, DOCKER_HOST unset';
  return first;
}

let probe: Promise<string | null> | undefined;

/** Null when a runtime answers, else the reason; probed once per test process. */
export function missingContainerRuntime(): Promise<string | null> {
  probe ??= getContainerRuntimeClient().then(
    () => null,
    (e: Error) => explain(e),
  );
  return probe;
}

/**
 * True when `suite` can run. Otherwise prints one line, e.g.
 * "testcontainers: no container runtime (docker socket absent …) — skipping real-Envoy static suite",
 * and returns false (or throws when SIDECAST_REQUIRE_CONTAINERS is set).
 */
export async function containerRuntimeFor(suite: string): Promise<boolean> {
  const why = await missingContainerRuntime();
  if (why === null) return true;
  if (process.env.SIDECAST_REQUIRE_CONTAINERS)
    throw new Error(
      `testcontainers: no container runtime (${why}) for ${suite}; SIDECAST_REQUIRE_CONTAINERS is set: start Docker or Podman`,
    );
  const line = `testcontainers: no container runtime (${why}) — skipping ${suite}`;
  // Straight to stderr: jest drops console output of suites whose tests are all skipped.
  process.stderr.write(`${line}\n`);
  return false;
}
