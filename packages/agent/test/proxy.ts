// A real HTTP proxy in front of a test server that changes one byte of every model file it
// passes on: a server serving wrong bytes, as a car sees it. Everything else goes through as is.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface TamperingProxy {
  url: string;
  /** Model files it changed. */
  tampered: string[];
  close(): Promise<void>;
}

export async function startTamperingProxy(target: string): Promise<TamperingProxy> {
  const to = new URL(target);
  const tampered: string[] = [];
  const server: Server = createServer((req, res) => {
    const upstream = request(
      {
        host: to.hostname,
        port: to.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: to.host },
      },
      (up) => {
        const chunks: Buffer[] = [];
        up.on("data", (c: Buffer) => chunks.push(c));
        up.on("end", () => {
          const body = Buffer.concat(chunks);
          if (req.url?.startsWith("/models/") && up.statusCode === 200 && body.length > 100) {
            body[100] = (body[100]! + 1) % 256;
            tampered.push(req.url);
          }
          const headers = { ...up.headers };
          delete headers["transfer-encoding"];
          headers["content-length"] = String(body.length);
          res.writeHead(up.statusCode ?? 502, headers).end(body);
        });
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tampered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
