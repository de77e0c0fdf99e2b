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

export interface AnswerLosingProxy {
  url: string;
  /** The answers it lost: the path of each call. */
  lost: string[];
  close(): Promise<void>;
}

/**
 * A real HTTP proxy that passes every call to the server and, the first `times` times the
 * server's answer to a call matching `lose` comes back, cuts the car's connection instead of
 * answering: the call was carried out, and its answer lost on the way (a server killed after
 * COMMIT, as the car sees it).
 */
export async function startAnswerLosingProxy(
  target: string,
  lose: (path: string, answer: string) => boolean,
  times = 1,
): Promise<AnswerLosingProxy> {
  const to = new URL(target);
  const lost: string[] = [];
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
          const path = req.url ?? "";
          if (lost.length < times && lose(path, body.toString("utf8"))) {
            lost.push(path);
            req.socket.destroy();
            return;
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
    lost,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
