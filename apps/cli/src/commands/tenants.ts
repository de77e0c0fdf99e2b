import Table from "cli-table3";
import type { Command } from "commander";
import { type ApiFlags, connect, withApiOptions } from "../api";
import { parseNumberFlag } from "../flags";
import { formatInteger, formatNumber, formatPercent } from "../format";
import { UsageError } from "../usage-error";

const OPERATOR_TOKEN = "an operator session token (from nightshift login)";

const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

function tenantIdArgument(raw: string): string {
  if (!TENANT_ID.test(raw)) {
    throw new UsageError(
      `<tenant-id> must be lower-case letters, digits and dashes (at most 64), got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

const share = (flag: string) => (raw: string) => parseNumberFlag(flag, raw, { min: 0, max: 1 });
/**
 * A limit, or "none" to remove it. ("none" stays a string here: commander turns a parser's null
 * into something else.)
 */
const limit = (flag: string) => (raw: string) =>
  raw === "none" ? ("none" as const) : parseNumberFlag(flag, raw, { min: 0, max: 1 });
const limitValue = (v: number | "none" | undefined) => (v === "none" ? null : v);
const weight = (raw: string) => {
  const w = parseNumberFlag("--weight", raw, { min: 0, max: 1000 });
  if (w === 0) throw new UsageError(`--weight must be greater than 0, got ${JSON.stringify(raw)}`);
  return w;
};

interface TenantFlags extends ApiFlags {
  name?: string;
  quota?: number;
  weight?: number;
  borrowingLimit?: number | "none";
  lendingLimit?: number | "none";
  json?: boolean;
}

function addQuotaOptions(command: Command): Command {
  return command
    .option("--weight <w>", "share of spare capacity relative to others, >0 to 1000", weight)
    .option(
      "--borrowing-limit <share|none>",
      "most idle capacity it may borrow beyond its quota, 0 to 1",
      limit("--borrowing-limit"),
    )
    .option(
      "--lending-limit <share|none>",
      "most of its idle quota others may borrow, 0 to 1",
      limit("--lending-limit"),
    );
}

export function registerTenants(program: Command): void {
  const tenants = program
    .command("tenants")
    .description("list, create and size tenants (needs an operator session token)");

  const list = tenants
    .command("list")
    .description("every tenant with its quota, limits and current work")
    .option("--json", "print the list as JSON");
  withApiOptions(list, OPERATOR_TOKEN).action(async (flags: TenantFlags) => {
    const api = connect(flags, OPERATOR_TOKEN);
    const rows = await api.call((c) => c.operator.tenants.list.query());
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    const table = new Table({
      head: [
        "tenant",
        "name",
        "quota",
        "weight",
        "borrow",
        "lend",
        "paused",
        "keys",
        "leased",
        "queued",
      ],
      style: { head: [], border: [] },
    });
    const limitText = (v: number | null) => (v === null ? "none" : formatPercent(v, 0));
    for (const t of rows) {
      table.push([
        t.id,
        t.name,
        formatPercent(t.quotaShare, 0),
        formatNumber(t.weight),
        limitText(t.borrowingLimitShare),
        limitText(t.lendingLimitShare),
        t.paused ? "yes" : "no",
        formatInteger(t.keys),
        formatInteger(t.activeLeases),
        formatInteger(t.queued),
      ]);
    }
    process.stdout.write(`${table.toString()}\n`);
  });

  const create = addQuotaOptions(
    tenants
      .command("create")
      .description("create a tenant and its first API key (printed once)")
      .argument("<tenant-id>", "lower-case letters, digits and dashes", tenantIdArgument)
      .requiredOption("--name <name>", "a name for people")
      .option(
        "--quota <share>",
        "guaranteed share of the fleet, 0 to 1 (default 0)",
        share("--quota"),
      ),
  ).option("--json", "print the tenant and its key as JSON");
  withApiOptions(create, OPERATOR_TOKEN).action(async (id: string, flags: TenantFlags) => {
    const api = connect(flags, OPERATOR_TOKEN);
    const out = await api.call((c) =>
      c.operator.tenants.create.mutate({
        id,
        name: flags.name!,
        quotaShare: flags.quota,
        weight: flags.weight,
        borrowingLimitShare: limitValue(flags.borrowingLimit),
        lendingLimitShare: limitValue(flags.lendingLimit),
      }),
    );
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    process.stdout.write(`${out.apiKey.key}\n`);
    process.stderr.write(
      `Created tenant ${out.tenant.id}. Its API key is above: it is shown only once.\n`,
    );
  });

  const setQuota = addQuotaOptions(
    tenants
      .command("set-quota")
      .description("change a tenant's quota, weight or limits")
      .argument("<tenant-id>", "the tenant", tenantIdArgument)
      .option("--quota <share>", "guaranteed share of the fleet, 0 to 1", share("--quota")),
  ).option("--json", "print the tenant as JSON");
  withApiOptions(setQuota, OPERATOR_TOKEN).action(async (id: string, flags: TenantFlags) => {
    const changes = {
      quotaShare: flags.quota,
      weight: flags.weight,
      borrowingLimitShare: limitValue(flags.borrowingLimit),
      lendingLimitShare: limitValue(flags.lendingLimit),
    };
    if (Object.values(changes).every((v) => v === undefined)) {
      throw new UsageError(
        "set-quota needs at least one of --quota, --weight, --borrowing-limit, --lending-limit",
      );
    }
    const api = connect(flags, OPERATOR_TOKEN);
    const t = await api.call((c) => c.operator.tenants.update.mutate({ id, ...changes }));
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
      return;
    }
    const limitText = (v: number | null) => (v === null ? "none" : formatPercent(v, 0));
    process.stdout.write(
      `${t.id}: quota ${formatPercent(t.quotaShare, 0)}, weight ${formatNumber(t.weight)}, ` +
        `borrowing limit ${limitText(t.borrowingLimitShare)}, lending limit ${limitText(t.lendingLimitShare)}\n`,
    );
  });
}
