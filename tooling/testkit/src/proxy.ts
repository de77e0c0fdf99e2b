// Real HTTP proxies in front of a test server, for what a car meets on the way: a server serving
// wrong bytes (a model file, an input image), and an answer lost after the server carried the
// call out. A car, a browser tab behind the vehicle's own server, anything that speaks HTTP can
// be put behind one.
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

interface Proxy {
  url: string;
  close(): Promise<void>;
}

/**
 * Passes every call to `target` and reads each answer whole; `answer` sees the call's path, the
 * upstream status and body, and returns the body to send on (changed or not), or null to cut the
 * car's connection instead of answering.
 */
async function startProxy(
  target: string,
  answer: (path: string, status: number | undefined, body: Buffer) => Buffer | null,
): Promise<Proxy> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const upstream = request(
      {
        host: to.hostname,
        port: to.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: to.host },
      },
      (up: IncomingMessage) => {
        const chunks: Buffer[] = [];
        up.on("data", (c: Buffer) => chunks.push(c));
        up.on("end", () => {
          const body = answer(req.url ?? "", up.statusCode, Buffer.concat(chunks));
          if (body === null) {
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TamperingProxy extends Proxy {
  /** The paths of the files it changed. */
  tampered: string[];
}

/**
 * Changes one byte of every file it passes on whose path `tamper` picks (by default, every
 * model file); everything else goes through as is.
 */
export async function startTamperingProxy(
  target: string,
  tamper: (path: string) => boolean = (path) => path.startsWith("/models/"),
): Promise<TamperingProxy> {
  const tampered: string[] = [];
  const proxy = await startProxy(target, (path, status, body) => {
    if (tamper(path) && status === 200 && body.length > 100) {
      body[100] = (body[100]! + 1) % 256;
      tampered.push(path);
    }
    return body;
  });
  return { ...proxy, tampered };
}

export interface AnswerLosingProxy extends Proxy {
  /** The answers it lost: the path of each call. */
  lost: string[];
}

/**
 * The first `times` times the server's answer to a call matching `lose` comes back, cuts the
 * car's connection instead of answering: the call was carried out, and its answer lost on the
 * way (a server killed after COMMIT, as the car sees it).
 */
export async function startAnswerLosingProxy(
  target: string,
  lose: (path: string, answer: string) => boolean,
  times = 1,
): Promise<AnswerLosingProxy> {
  const lost: string[] = [];
  const proxy = await startProxy(target, (path, _status, body) => {
    if (lost.length < times && lose(path, body.toString("utf8"))) {
      lost.push(path);
      return null;
    }
    return body;
  });
  return { ...proxy, lost };
}
