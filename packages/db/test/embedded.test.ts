// The embedded PostgreSQL: data that outlives the server, recovery after a crash, ports.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFile, stat, writeFile } from "node:fs/promises";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { pgDataDir, PortInUseError, startEmbedded, type EmbeddedPostgres } from "../src/embedded";
import { queryOnce, tempDir } from "./helpers";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshDir(): Promise<string> {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  return tmp.dir;
}

async function start(dataDir: string, port?: number): Promise<EmbeddedPostgres> {
  const server = await startEmbedded({ dataDir, port, durable: false });
  cleanups.push(server.stop);
  return server;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startEmbedded", () => {
  it("keeps the data across stop and start on the same folder", async () => {
    const dataDir = await freshDir();
    const first = await start(dataDir);
    expect(new URL(first.url).pathname).toBe("/nightshift");
    await queryOnce(first.url, "create table kept (note text)");
    await queryOnce(first.url, "insert into kept values ('still here')");
    await Promise.all([first.stop(), first.stop()]);
    await first.stop(); // idempotent
    await expect(queryOnce(first.url, "select 1")).rejects.toThrow();

    const second = await start(dataDir);
    expect(await queryOnce(second.url, "select note from kept")).toEqual([{ note: "still here" }]);
  });

  it("takes over after its Node process was killed with kill -9", async () => {
    const dataDir = await freshDir();
    const fixture = fileURLToPath(new URL("fixtures/hold-embedded.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture, dataDir], {
      cwd: path.dirname(fileURLToPath(import.meta.url)),
      stdio: ["ignore", "pipe", "inherit"],
    });
    cleanups.push(() => void child.kill("SIGKILL"));
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const { url: oldUrl } = JSON.parse(line) as { url: string };
    const orphanPid = Number(
      (await readFile(path.join(pgDataDir(dataDir), "postmaster.pid"), "utf8")).split("\n")[0],
    );

    child.kill("SIGKILL");
    await once(child, "exit");
    // The postgres it started lives on, holding the folder and its port.
    expect(await queryOnce(oldUrl, "select note from crash_probe")).toHaveLength(1);

    const server = await start(dataDir);
    expect(await queryOnce(server.url, "select note from crash_probe")).toEqual([
      { note: "written before the crash" },
    ]);
    const stat = await readFile(`/proc/${orphanPid}/stat`, "utf8").catch(() => "");
    expect(isAlive(orphanPid) && !/\) Z /.test(stat)).toBe(false);
  });

  it("ignores a postmaster.pid whose pid now belongs to another process", async () => {
    const dataDir = await freshDir();
    const first = await start(dataDir);
    await queryOnce(first.url, "create table kept (n int)");
    await first.stop();

    // After a crash and a reboot the old pid is often some other live process. PostgreSQL
    // itself only ignores one that it may not signal, so run ours as the cluster's owner.
    const owner = await stat(pgDataDir(dataDir));
    const asOwner = process.getuid?.() === 0 ? { uid: owner.uid, gid: owner.gid } : {};
    // Alive until the test kills it, however long PostgreSQL takes to start below.
    const other = spawn("sleep", ["infinity"], { stdio: "ignore", ...asOwner });
    cleanups.push(() => void other.kill("SIGKILL"));
    const pidFile = path.join(pgDataDir(dataDir), "postmaster.pid");
    await writeFile(
      pidFile,
      `${other.pid}\n${pgDataDir(dataDir)}\n0\n5432\n\n127.0.0.1\n 0 0\nready\n`,
    );

    const second = await start(dataDir);
    expect(await queryOnce(second.url, "select count(*)::int as n from kept")).toEqual([{ n: 0 }]);
    expect(isAlive(other.pid!)).toBe(true);
  });

  it("refuses a folder whose server is still running for a live process", async () => {
    const dataDir = await freshDir();
    const first = await start(dataDir);
    await expect(startEmbedded({ dataDir, durable: false })).rejects.toThrow(/in use/);
    expect(await queryOnce(first.url, "select 1 as one")).toEqual([{ one: 1 }]);
  });

  it.runIf(process.getuid?.() === 0)(
    "as root, names a folder on the way that postgres cannot enter",
    async () => {
      const outer = await freshDir(); // mkdtemp: mode 0700, owned by root
      await expect(
        startEmbedded({ dataDir: path.join(outer, "data"), durable: false }),
      ).rejects.toThrow(new RegExp(`cannot reach .*${outer}.*chmod o\\+x`));
    },
  );

  it("reports a given port in use, and picks a free port when none is given", async () => {
    const blocker = net.createServer();
    blocker.listen(0, "127.0.0.1");
    await once(blocker, "listening");
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const busy = (blocker.address() as AddressInfo).port;

    const dataDir = await freshDir();
    const err = await startEmbedded({ dataDir, port: busy, durable: false }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PortInUseError);
    expect((err as PortInUseError).port).toBe(busy);

    const server = await start(dataDir);
    expect(new URL(server.url).port).not.toBe(String(busy));
    expect(await queryOnce(server.url, "select 1 as one")).toEqual([{ one: 1 }]);
  });
});
