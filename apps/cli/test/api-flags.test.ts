// The API and serve commands' flags, parsed in-process (no server, no child process): each
// mistake is a UsageError or commander's error, naming the flag, before anything is sent.
import { CommanderError } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { createProgram } from "../src/program";
import { UsageError } from "../src/usage-error";

const UUID = "00000000-0000-4000-8000-000000000000";

beforeAll(() => {
  // What the machine running the tests has set must not stand in for a missing flag.
  delete process.env.NIGHTSHIFT_URL;
  delete process.env.NIGHTSHIFT_KEY;
});

async function parseError(args: string[]): Promise<Error> {
  let commanderMessage = "";
  const program = createProgram({
    writeOut: () => {},
    writeErr: (text) => (commanderMessage += text),
  });
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return new CommanderError(2, error.code, commanderMessage);
    return error as Error;
  }
  throw new Error(`${JSON.stringify(args)} was accepted`);
}

describe.concurrent("API and serve flags", () => {
  it.each([
    [["jobs", "status", UUID], /--key is required \(or NIGHTSHIFT_KEY\): a tenant key/],
    [["tenants", "list"], /--key is required \(or NIGHTSHIFT_KEY\): an operator session token/],
    [["jobs", "status", "42", "--key", "k"], /<job-id> must be a job's uuid, got "42"/],
    [
      ["jobs", "submit", "--model", "m", "--inputs", "/nonexistent.json", "--key", "k"],
      /--inputs: cannot read \/nonexistent.json/,
    ],
    [
      ["jobs", "submit", "--model", "m", "--inputs", "x", "--priority", "10"],
      /--priority must be an integer between 0 and 9, got "10"/,
    ],
    [
      ["jobs", "submit", "--model", "m", "--inputs", "x", "--replication", "many"],
      /--replication must be an integer between 1 and 5, got "many"/,
    ],
    [
      ["jobs", "submit", "--model", "m", "--inputs", "x", "--replication", "6"],
      /--replication must be an integer between 1 and 5/,
    ],
    [
      ["jobs", "submit", "--model", "m", "--inputs", "x", "--deadline", "tomorrow"],
      /--deadline must be an ISO date and time/,
    ],
    [
      ["jobs", "submit", "--model", "m", "--inputs", "x", "--objective", "greenest"],
      /--objective must be one of soonest, cheapest, cleanest, got "greenest"/,
    ],
    [
      ["jobs", "submit", "--model", "m", "--inputs", "x", "--budget", "-1"],
      /--budget must be a number between 0 and/,
    ],
    [
      ["jobs", "results", UUID, "--limit", "0"],
      /--limit must be an integer between 1 and 500, got "0"/,
    ],
    [["jobs", "results", UUID, "--cursor", "x"], /--cursor must be an integer/],
    [["jobs", "cancel", "not-a-uuid"], /<job-id> must be a job's uuid/],
    [
      ["tenants", "list", "--url", "ftp://x"],
      /--url must be an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"/,
    ],
    [
      ["tenants", "list", "--url", "nope"],
      /--url must be an http:\/\/ or https:\/\/ URL, got "nope"/,
    ],
    [["tenants", "create", "Bad_Id", "--name", "x"], /<tenant-id> must be lower-case letters/],
    [
      ["tenants", "create", "ok", "--name", "x", "--quota", "2"],
      /--quota must be a number between 0 and 1, got "2"/,
    ],
    [
      ["tenants", "set-quota", "newco", "--quota", "1.5"],
      /--quota must be a number between 0 and 1, got "1.5"/,
    ],
    [
      ["tenants", "set-quota", "newco", "--weight", "0"],
      /--weight must be greater than 0, got "0"/,
    ],
    [
      ["tenants", "set-quota", "newco", "--weight", "1001"],
      /--weight must be a number between 0 and 1000/,
    ],
    [
      ["tenants", "set-quota", "newco", "--borrowing-limit", "lots"],
      /--borrowing-limit must be a number between 0 and 1, got "lots"/,
    ],
    [
      ["tenants", "set-quota", "newco", "--key", "k"],
      /set-quota needs at least one of --quota, --weight/,
    ],
    [["login", "--email", "a@b.c"], /--password or --password-stdin is required/],
    [["serve", "--port", "70000"], /--port must be an integer between 0 and 65535, got "70000"/],
    [["serve", "--port", "-1"], /--port must be an integer between 0 and 65535/],
    [
      ["serve", "--database-url", "mysql://x"],
      /--database-url must be a postgres:\/\/ URL, got "mysql:\/\/x"/,
    ],
    [["serve", "--operator-email", "ops"], /--operator-email must be an email address, got "ops"/],
    [["serve", "--demo", "--no-seed"], /--demo seeds the demo world: drop --no-seed/],
    [["serve", "--demo", "--operator-email", "a@b.c"], /--operator-email names a first operator/],
  ])("%j is a usage error naming the flag", async (args, message) => {
    const error = await parseError(args);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(message);
  });

  it.each([
    [["jobs", "submit", "--inputs", "x.json", "--key", "k"], /required option '--model <id>'/],
    [["jobs", "status"], /missing required argument 'job-id'/],
    [["tenants", "create", "newco"], /required option '--name <name>'/],
    [["login", "--password", "p"], /required option '--email <email>'/],
    [["jobs", "status", UUID, "--bogus"], /unknown option '--bogus'/],
    [["tenants", "remove"], /unknown command 'remove'/],
  ])("%j is commander's usage error", async (args, message) => {
    const error = await parseError(args);
    expect(error).toBeInstanceOf(CommanderError);
    expect(error.message).toMatch(message);
  });
});
