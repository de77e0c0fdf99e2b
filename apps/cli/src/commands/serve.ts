import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { EnvError, serverEnv } from "@nightshift/server/env";
import type { DemoSeed, RunningServer } from "@nightshift/server/start";
import { parseIntegerFlag } from "../flags";
import { UsageError } from "../usage-error";

interface ServeFlags {
  port?: number;
  host?: string;
  data?: string;
  databaseUrl?: string;
  demo?: boolean;
  /** False with --no-seed, the flag of earlier releases (see registerServe). */
  seed: boolean;
  operatorEmail?: string;
  printDatabaseUrl?: boolean;
}

function parseDatabaseUrl(raw: string): string {
  if (!/^postgres(ql)?:\/\/\S+$/.test(raw)) {
    throw new UsageError(`--database-url must be a postgres:// URL, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

function parseEmail(raw: string): string {
  if (!/^[^\s@]+@[^\s@]+$/.test(raw)) {
    throw new UsageError(`--operator-email must be an email address, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "run the server: the tRPC API under /trpc, /healthz, /readyz, /metrics and /models (Ctrl-C stops it)",
    )
    .option(
      "--port <port>",
      "port to listen on, 0 for any free one (default NIGHTSHIFT_PORT or 8787)",
      (raw: string) => parseIntegerFlag("--port", raw, { min: 0, max: 65_535 }),
    )
    .option("--host <host>", "address to listen on (default NIGHTSHIFT_HOST or 127.0.0.1)")
    .option(
      "--data <dir>",
      "the embedded PostgreSQL's folder (default NIGHTSHIFT_DATA_DIR or .nightshift/data)",
    )
    .option(
      "--database-url <url>",
      "use this PostgreSQL instead of the embedded one (default DATABASE_URL)",
      parseDatabaseUrl,
    )
    .option(
      "--demo",
      "add the demo world: regions, tenants, an operator, the demo fleet's enrollment code and the public DEMO-NIGHTSHIFT (printed on the first start)",
    )
    .option(
      "--operator-email <email>",
      "without --demo, the first operator's email, made (and its password printed, once) on a start that finds no operator (default admin@nightshift.local)",
      parseEmail,
    )
    // What serve does without --demo: earlier releases seeded by default and took --no-seed to
    // stop it. Still accepted, so that their scripts keep starting; not shown.
    .addOption(new Option("--no-seed").hideHelp())
    .option(
      "--print-database-url",
      "print the database URL (password included) so another instance can share it",
    )
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  if (flags.demo && !flags.seed)
    throw new UsageError("--demo seeds the demo world: drop --no-seed");
  if (flags.demo && flags.operatorEmail)
    throw new UsageError(
      "--operator-email names a first operator without --demo: the demo has its own",
    );
  let env;
  try {
    env = serverEnv();
  } catch (error) {
    if (error instanceof EnvError) throw new UsageError(error.message);
    throw error;
  }
  // Loaded here, not at the top: the server's modules (database, API) would slow every command.
  const { createLogger, startServer } = await import("@nightshift/server/start");
  // Logs go to stderr: stdout carries the few lines a script reads (`listening on URL`).
  const log = createLogger(env.LOG_LEVEL, 2);
  let server: RunningServer;
  try {
    server = await startServer({
      port: flags.port,
      host: flags.host,
      dataDir: flags.data === undefined ? undefined : resolve(flags.data),
      databaseUrl: flags.databaseUrl,
      demo: flags.demo ?? false,
      ...(flags.operatorEmail ? { operatorEmail: flags.operatorEmail } : {}),
      log,
    });
  } catch (error) {
    log.error({ err: error }, "the server could not start");
    process.stderr.write(`error: the server could not start: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const demo = server.demo ? formatDemo(server.demo) : "";
  if (demo) {
    process.stdout.write(demo);
    log.info("demo credentials printed on stdout, this once: the server keeps only their hashes");
  }
  if (server.firstOperator) {
    const { email, password } = server.firstOperator;
    process.stdout.write(`operator ${email} ${password}\n`);
    log.info(
      "the first operator's password printed on stdout, this once: the server keeps its hash",
    );
  }
  if (flags.printDatabaseUrl) process.stdout.write(`database-url ${server.databaseUrl}\n`);
  process.stdout.write(`listening on ${server.url}\n`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, "second signal: exiting without waiting");
      process.exit(1);
    }
    log.info({ signal }, "stopping");
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "stopping failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/**
 * The demo credentials made by this start, one per line (`demo operator EMAIL PASSWORD`,
 * `demo tenant-key TENANT KEY`, `demo enrollment-code CODE`): shown once, as the server keeps
 * only their hashes. The enrollment code is the demo fleet's, whose cars' owners are vouched for
 * (what a script enrolls its fleet with); `demo public-code` is the one strangers use.
 */
export function formatDemo(demo: DemoSeed): string {
  const lines: string[] = [];
  if (demo.operator.password !== null) {
    lines.push(`demo operator ${demo.operator.email} ${demo.operator.password}`);
  }
  for (const t of demo.tenants)
    if (t.apiKey !== null) lines.push(`demo tenant-key ${t.id} ${t.apiKey}`);
  if (demo.enrollmentCode !== null) lines.push(`demo enrollment-code ${demo.enrollmentCode}`);
  if (lines.length > 0) lines.push(`demo public-code ${demo.publicCode}`);
  return lines.map((l) => `${l}\n`).join("");
}
