// The server under benchmark, in a process of its own (bench/api.ts starts it): the real
// startServer on an embedded PostgreSQL in the folder given, durable (fsync and synchronous
// commit on, PostgreSQL's defaults), with the demo seed. Prints one JSON line on stdout with what
// the benchmark needs, logs to stderr, and stops gracefully when its stdin closes.
import { createLogger, startServer } from "../src/start";

// serve.ts DATA_DIR [DATABASE_URL]: with a URL, that PostgreSQL instead of an embedded one.
const [dataDir, databaseUrl] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: serve.ts DATA_DIR [DATABASE_URL]");

const server = await startServer({
  port: 0,
  dataDir,
  ...(databaseUrl ? { databaseUrl } : {}),
  demo: true,
  // The server's own request log (one line per request, info), to stderr instead of stdout.
  log: createLogger("info", 2),
});
const demo = server.demo;
const tenantKey = demo?.tenants.find((t) => t.apiKey !== null)?.apiKey;
if (!demo?.enrollmentCode || !tenantKey) throw new Error("the benchmark needs a fresh data folder");

process.stdout.write(
  `${JSON.stringify({
    url: server.url,
    databaseUrl: server.databaseUrl,
    tenantKey,
    enrollmentCode: demo.enrollmentCode,
  })}\n`,
);

process.stdin.resume();
process.stdin.once("end", () => {
  void server.stop().then(() => process.exit(0));
});
