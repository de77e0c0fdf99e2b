// Runs the real CLI in a child process, as a user would, and collects what it printed.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { HANG_MS } from "@nightshift/testkit/waits";

export const CLI_DIR = fileURLToPath(new URL("..", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const BIN = fileURLToPath(new URL("../bin/nightshift.js", import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  options: { cwd?: string; bin?: string; env?: Record<string, string | undefined> } = {},
): Promise<CliRun> {
  const file = options.bin ?? process.execPath;
  const argv = options.bin ? args : [BIN, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      file,
      argv,
      {
        cwd: options.cwd ?? CLI_DIR,
        env: { ...process.env, ...options.env },
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        // A hang guard only: a slow machine may take its time.
        timeout: HANG_MS,
      },
      (error, stdout, stderr) => {
        // A non-zero exit is a result to check; only a failure to run at all is an error.
        if (error && typeof error.code !== "number") reject(error);
        else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}
