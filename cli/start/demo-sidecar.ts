// A stand-in for Envoy in `npm start`, for machines without Envoy: an HTTP proxy in front of one
// service that runs every exchange through the released event-emitter.wasm inside sidecast's
// proxy-wasm test host (test/host, the Envoy-faithful host the filter is tested with), configured
// with exactly the ECDS resource the xds-server serves that service. The filter's batch calls go to
// the real bridge. Only the emitter's async mode is honoured (no request holding). For real
// sidecars see envoy-configs/.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import {
  BRIDGE_CLUSTER,
  emitterResourceName,
  translate,
  type MeshConfig,
} from '../../xds-server/mesh/index.js';
import { ProxyWasmHost } from '../../test/host/index.js';

export interface DemoSidecar {
  url: string;
  /** An emitter stat by the name the filter gives it, e.g. `sidecast.emitter.rule=x.events_emitted`. */
  metric(name: string): number | undefined;
  close(): Promise<void>;
}

interface WasmFilterConfig {
  config: EmitterFilterConfig;
}

/** The parts of an `envoy.extensions.filters.http.wasm.v3.Wasm` filter's `config` the sidecar uses. */
export interface EmitterFilterConfig {
  name: string;
  root_id: string;
  vm_config: { vm_id: string };
  configuration: { value: string };
}

/** The emitter's Wasm filter config for `service`, decoded from what the xds-server would publish. */
function emitterConfigOf(mesh: MeshConfig, service: string): WasmFilterConfig['config'] {
  const bytes = translate(mesh).get(service)?.get(TYPE.extensionConfig)?.get(emitterResourceName(service));
  if (!bytes) throw new Error(`mesh has no event-emitter config for service ${service}`);
  const ext = envoyChecker().decode(
    TYPE.extensionConfig.split('/')[1]!,
    bytes,
    emitterResourceName(service),
  ) as { typed_config: WasmFilterConfig };
  return ext.typed_config.config;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

/**
 * The emitter's config comes from `mesh` (translated here) or, given as `emitter`, from wherever
 * the caller got it (e.g. the ECDS resource fetched from a running xds-server). Port 0 = any free port.
 */
export async function startDemoSidecar(
  opts: {
    service: string;
    port: number;
    appUrl: string;
    bridgeUrl: string;
    wasmFile: string;
  } & ({ mesh: MeshConfig } | { emitter: EmitterFilterConfig }),
): Promise<DemoSidecar> {
  const c = 'emitter' in opts ? opts.emitter : emitterConfigOf(opts.mesh, opts.service);
  const host = await ProxyWasmHost.load(readFileSync(opts.wasmFile), { logLevel: 'warn' });
  host.cluster(BRIDGE_CLUSTER, opts.bridgeUrl);
  const plugin = await host.createPlugin({
    name: c.name,
    rootId: c.root_id,
    vmId: c.vm_config.vm_id,
    pluginConfig: c.configuration.value,
    failurePolicy: 'fail_open',
  });
  // The test host's clock only moves when told to; follow the wall clock so batches flush on time.
  const t0 = Date.now();
  const clock = setInterval(() => host.advance(Math.max(0, Date.now() - t0 - host.nowMs())), 20);

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k, v]) => !HOP_BY_HOP.has(k) && typeof v === 'string'),
      ) as Record<string, string>;
      const stream = plugin.stream();
      stream.requestHeaders(
        {
          ':method': req.method!,
          ':path': req.url!,
          ':authority': req.headers.host ?? opts.service,
          ':scheme': 'http',
          ...headers,
        },
        { endOfStream: body.length === 0 },
      );
      if (body.length > 0) stream.requestBody(body, { endOfStream: true });
      try {
        const up = await fetch(new URL(req.url!, opts.appUrl), {
          method: req.method,
          headers,
          body: body.length > 0 ? body : undefined,
        });
        const answer = Buffer.from(await up.arrayBuffer());
        const upHeaders = Object.fromEntries([...up.headers].filter(([k]) => !HOP_BY_HOP.has(k)));
        stream.responseHeaders(
          { ':status': String(up.status), ...upHeaders },
          { endOfStream: answer.length === 0 },
        );
        if (answer.length > 0) stream.responseBody(answer, { endOfStream: true });
        res.writeHead(up.status, upHeaders).end(answer);
      } catch (e) {
        res
          .writeHead(503, { 'content-type': 'text/plain' })
          .end(`upstream ${opts.appUrl} unavailable: ${(e as Error).message}`);
      } finally {
        stream.end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `demo sidecar for ${opts.service}: cannot listen on 127.0.0.1:${opts.port} (${e.code ?? e.message})`,
        ),
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    metric: (name) => host.metrics.get(name),
    close: () =>
      new Promise((resolve) => {
        clearInterval(clock);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
