// A tiny local HTTP server for store tests: it serves whatever bytes a test sets per path, and
// counts requests, so that a test can serve tampered files and see what the store asked for.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ByteServer {
  url: string;
  /** The bytes served at a path; a path not set answers 404. */
  files: Map<string, Uint8Array>;
  requests: string[];
  close(): Promise<void>;
}

export async function startByteServer(): Promise<ByteServer> {
  const files = new Map<string, Uint8Array>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    requests.push(path);
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": body.length,
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
