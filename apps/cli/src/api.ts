// What the API commands share: where the server is, which credential to send, and turning the
// server's refusals and network failures into one line for people.
import type { Command } from "commander";
import { createNightshiftClient, type NightshiftClient } from "@nightshift/client/client";
import { apiErrorCode } from "@nightshift/client/errors";
import { DEFAULT_SERVER_URL, cliEnv } from "./env";
import { parseUrlFlag } from "./flags";
import { UsageError } from "./usage-error";

/** The server refused a call or could not be reached: exit code 1. */
export class ApiCallError extends Error {
  override name = "ApiCallError";
}

export interface ApiFlags {
  url?: string;
  key?: string;
}

/** Adds --url and (unless the command signs in) --key. */
export function withApiOptions(command: Command, key: string | null): Command {
  command.option(
    "--url <url>",
    `the server (default NIGHTSHIFT_URL or ${DEFAULT_SERVER_URL})`,
    (raw: string) => parseUrlFlag("--url", raw),
  );
  if (key !== null) command.option("--key <key>", `${key} (default NIGHTSHIFT_KEY)`);
  return command;
}

export interface Api {
  client: NightshiftClient;
  url: string;
  /** Runs one call, turning a refusal or a network failure into an ApiCallError. */
  call<T>(run: (client: NightshiftClient) => Promise<T>): Promise<T>;
}

/**
 * A client for the server in the flags or the environment. `key` names the credential the
 * command needs ("a tenant key"); null for commands that need none.
 */
export function connect(flags: ApiFlags, key: string | null): Api {
  const env = cliEnv();
  const url = flags.url ?? env.NIGHTSHIFT_URL ?? DEFAULT_SERVER_URL;
  const credential = key === null ? undefined : (flags.key ?? env.NIGHTSHIFT_KEY);
  if (key !== null && !credential) {
    throw new UsageError(`--key is required (or NIGHTSHIFT_KEY): ${key}`);
  }
  const client = createNightshiftClient({ url, credential });
  return {
    client,
    url,
    async call(run) {
      try {
        return await run(client);
      } catch (error) {
        throw new ApiCallError(describeFailure(error, url, key));
      }
    },
  };
}

function describeFailure(error: unknown, url: string, key: string | null): string {
  const code = apiErrorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === "UNAUTHORIZED") {
    return `${code}: ${message}${key ? ` (check --key or NIGHTSHIFT_KEY: ${key})` : ""}`;
  }
  if (code) return `${code}: ${message}`;
  // No tRPC error code: the request never got a tRPC answer (refused, DNS, a proxy's page).
  const cause = (error as { cause?: { cause?: { code?: string }; message?: string } }).cause;
  const reason = cause?.cause?.code ?? cause?.message ?? message;
  return `cannot reach the server at ${url}: ${reason} (is \`nightshift serve\` running?)`;
}
