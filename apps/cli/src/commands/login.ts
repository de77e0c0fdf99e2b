import type { Command } from "commander";
import { type ApiFlags, connect, withApiOptions } from "../api";
import { UsageError } from "../usage-error";

interface LoginFlags extends ApiFlags {
  email: string;
  password?: string;
  passwordStdin?: boolean;
}

export function registerLogin(program: Command): void {
  const command = program
    .command("login")
    .description(
      "sign in as an operator and print a session token (use it as --key or NIGHTSHIFT_KEY)",
    )
    .requiredOption("--email <email>", "the operator's email")
    .option("--password <password>", "the password (visible to other users in `ps`)")
    .option("--password-stdin", "read the password from stdin");
  withApiOptions(command, null).action(async (flags: LoginFlags) => {
    const password = flags.passwordStdin ? await readStdin() : flags.password;
    if (!password) throw new UsageError("--password or --password-stdin is required");
    const api = connect(flags, null);
    const session = await api.call((c) =>
      c.operator.auth.signIn.mutate({ email: flags.email, password }),
    );
    process.stdout.write(`${session.token}\n`);
    process.stderr.write(`Signed in until ${session.expiresAt}.\n`);
  });
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += String(chunk);
  return text.replace(/\r?\n$/, "");
}
