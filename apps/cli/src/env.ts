// The CLI's environment, read once and validated. The server's own variables (DATABASE_URL,
// NIGHTSHIFT_PORT, …) are read by @nightshift/server/env.
import { z } from "zod";
import { UsageError } from "./usage-error";

export const DEFAULT_SERVER_URL = "http://127.0.0.1:8787";

const ZCliEnv = z.object({
  /** The server the API commands talk to. */
  NIGHTSHIFT_URL: z.preprocess((v) => (v === "" ? undefined : v), z.url().optional()),
  /** A tenant key (jobs) or an operator session token (tenants). */
  NIGHTSHIFT_KEY: z.preprocess((v) => (v === "" ? undefined : v), z.string().optional()),
});

export type CliEnv = z.infer<typeof ZCliEnv>;

let cached: CliEnv | undefined;

export function cliEnv(): CliEnv {
  if (!cached) {
    const parsed = ZCliEnv.safeParse(process.env);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(`${issue?.path.join(".")}: ${issue?.message}`);
    }
    cached = parsed.data;
  }
  return cached;
}
