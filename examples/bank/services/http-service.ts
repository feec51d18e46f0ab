// The smallest HTTP service the bank example needs: JSON in, JSON out, one handler per route.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Request {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
export interface Reply {
  status: number;
  json?: unknown;
}
export type Handler = (req: Request) => Reply | Promise<Reply>;

export interface RunningService {
  name: string;
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

export async function serve(
  name: string,
  port: number,
  routes: Record<string, Handler>,
  host = '127.0.0.1',
): Promise<RunningService> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const handler = routes[`${req.method} ${path}`];
      let reply: Reply;
      try {
        reply = handler
          ? await handler({
              method: req.method!,
              path,
              headers: req.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            })
          : { status: 404, json: { error: `${name} has no route ${req.method} ${path}` } };
      } catch (e) {
        reply = { status: 500, json: { error: (e as Error).message } };
      }
      const body = reply.json === undefined ? '' : JSON.stringify(reply.json);
      res.writeHead(reply.status, body ? { 'content-type': 'application/json' } : {}).end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `${name}: cannot listen on ${host}:${port} (${e.code ?? e.message}); stop whatever uses it or change the port in examples/bank/mesh.yaml`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    name,
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
