// `nightshift jobs`: a tenant submits jobs and reads their status and results (needs a tenant
// key in NIGHTSHIFT_KEY or --key).
import { readFileSync } from "node:fs";
import { type Objective, OBJECTIVES } from "@nightshift/core/types";
import type { Command } from "commander";
import { type ApiFlags, connect, withApiOptions } from "../api";
import { parseIntegerFlag, parseNumberFlag } from "../flags";
import { formatPercent } from "../format";
import { UsageError } from "../usage-error";

const TENANT_KEY = "a tenant key";

interface SubmitFlags extends ApiFlags {
  model: string;
  inputs: string;
  priority?: number;
  replication?: "auto" | number;
  deadline?: string;
  budget?: number;
  objective?: Objective;
  idempotencyKey?: string;
  json?: boolean;
}

function parseReplication(raw: string): "auto" | number {
  return raw === "auto" ? "auto" : parseIntegerFlag("--replication", raw, { min: 1, max: 5 });
}

function parseDeadline(raw: string): string {
  const at = Date.parse(raw);
  if (!/^\d{4}-\d\d-\d\dT/.test(raw) || Number.isNaN(at)) {
    throw new UsageError(
      `--deadline must be an ISO date and time such as 2026-01-31T18:00:00Z, got ${JSON.stringify(raw)}`,
    );
  }
  return new Date(at).toISOString();
}

function parseObjective(raw: string): Objective {
  const objective = OBJECTIVES.find((o) => o === raw);
  if (!objective) {
    throw new UsageError(
      `--objective must be one of ${OBJECTIVES.join(", ")}, got ${JSON.stringify(raw)}`,
    );
  }
  return objective;
}

/** The inputs file: a JSON array with one task input per element ("-" reads stdin). */
function readInputs(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (error) {
    throw new UsageError(`--inputs: cannot read ${path}: ${(error as Error).message}`);
  }
  let inputs: unknown;
  try {
    inputs = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--inputs: ${path} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new UsageError(
      `--inputs: ${path} must hold a JSON array of task inputs, e.g. [{"image":{"demo":"page-1.png"}}] or [{"x":{"dims":[1,16],"data":[…]}}]`,
    );
  }
  return inputs;
}

const jobIdArgument = (raw: string): string => {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(raw)) {
    throw new UsageError(`<job-id> must be a job's uuid, got ${JSON.stringify(raw)}`);
  }
  return raw;
};

export function registerJobs(program: Command): void {
  const jobs = program
    .command("jobs")
    .description("submit inference jobs and read their status and results (needs a tenant key)");

  const submit = jobs
    .command("submit")
    .description("submit a job: one task per input; prints the job's id")
    .requiredOption("--model <id>", "the model to run, e.g. tiny-mlp")
    .requiredOption(
      "--inputs <file>",
      'a JSON array of task inputs: images {"image": {"base64": "…"}} or {"image": {"demo": "<file>"}}, or tensors {"<feed>": {"dims": [...], "data": [...]}}; - reads stdin',
    )
    .option("--priority <0-9>", "higher runs first within the tenant (default 0)", (raw: string) =>
      parseIntegerFlag("--priority", raw, { min: 0, max: 9 }),
    )
    .option(
      "--replication <n|auto>",
      "replicas per task, 1 to 5, or auto (default)",
      parseReplication,
    )
    .option("--deadline <iso-time>", "finish by this time", parseDeadline)
    .option("--budget <usd>", "most the job may cost, USD", (raw: string) =>
      parseNumberFlag("--budget", raw, { min: 0, max: 1e9 }),
    )
    .option(
      `--objective <${OBJECTIVES.join("|")}>`,
      "soonest (default) runs on any car now; cheapest or cleanest lets a car on dear or dirty power wait for a better window before its departure and the deadline",
      parseObjective,
    )
    .option(
      "--idempotency-key <key>",
      "a retried submission with the same key returns the first job",
    )
    .option("--json", "print the server's answer as JSON");
  withApiOptions(submit, TENANT_KEY).action(async (flags: SubmitFlags) => {
    const inputs = readInputs(flags.inputs);
    const api = connect(flags, TENANT_KEY);
    const out = await api.call((c) =>
      c.tenant.jobs.submit.mutate({
        modelId: flags.model,
        // The server validates every input and names the one at fault.
        inputs: inputs as Parameters<typeof c.tenant.jobs.submit.mutate>[0]["inputs"],
        priority: flags.priority,
        replication: flags.replication,
        deadlineAt: flags.deadline,
        budgetUsd: flags.budget,
        objective: flags.objective,
        idempotencyKey: flags.idempotencyKey,
      }),
    );
    if (flags.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    else {
      process.stdout.write(`${out.jobId}\n`);
      process.stderr.write(
        `${out.duplicate ? "Already submitted" : "Submitted"}: ${out.taskCount} task(s). ` +
          `Follow it with: nightshift jobs status ${out.jobId}\n`,
      );
    }
  });

  const status = jobs
    .command("status")
    .description("a job's status and progress")
    .argument("<job-id>", "the job's id", jobIdArgument)
    .option("--json", "print the job as JSON");
  withApiOptions(status, TENANT_KEY).action(
    async (jobId: string, flags: ApiFlags & { json?: boolean }) => {
      const api = connect(flags, TENANT_KEY);
      const job = await api.call((c) => c.tenant.jobs.get.query({ jobId }));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
        return;
      }
      const lines: [string, string][] = [
        ["job", job.id],
        ["model", job.modelId],
        ["status", job.status],
        [
          "progress",
          `${formatPercent(job.progress)} (${job.tasksValidated} valid, ${job.tasksFailed} failed, ${job.taskCount} tasks)`,
        ],
        ["priority", String(job.priority)],
        ["replication", String(job.replication)],
        ["objective", job.objective],
        ["submitted", job.submittedAt],
        ["deadline", job.deadlineAt ?? "none"],
        ["completed", job.completedAt ?? "not yet"],
      ];
      process.stdout.write(lines.map(([k, v]) => `${k.padEnd(12)}${v}\n`).join(""));
    },
  );

  const results = jobs
    .command("results")
    .description(
      "a job's results as JSON lines, one task per line: seq, status and what the output means (a text direction and its confidence, text boxes, or the numbers)",
    )
    .argument("<job-id>", "the job's id", jobIdArgument)
    .option("--limit <n>", "tasks per page, 1 to 500 (default 500)", (raw: string) =>
      parseIntegerFlag("--limit", raw, { min: 1, max: 500 }),
    )
    .option("--cursor <seq>", "start after this task (from an earlier page)", (raw: string) =>
      parseIntegerFlag("--cursor", raw, { min: -1, max: 2 ** 31 - 1 }),
    )
    .option("--one-page", "print one page, then the next cursor on stderr")
    .option("--raw", "add the model's raw output to each line");
  withApiOptions(results, TENANT_KEY).action(
    async (
      jobId: string,
      flags: ApiFlags & { limit?: number; cursor?: number; onePage?: boolean; raw?: boolean },
    ) => {
      const api = connect(flags, TENANT_KEY);
      let cursor = flags.cursor;
      for (;;) {
        const page = await api.call((c) =>
          c.tenant.jobs.results.query({ jobId, cursor, limit: flags.limit ?? 500 }),
        );
        for (const item of page.items) {
          process.stdout.write(`${JSON.stringify(resultLine(item, flags.raw ?? false))}\n`);
        }
        if (page.nextCursor === null) break;
        if (flags.onePage) {
          process.stderr.write(`More: --cursor ${page.nextCursor}\n`);
          break;
        }
        cursor = page.nextCursor;
      }
    },
  );

  const cancel = jobs
    .command("cancel")
    .description("cancel a job that has not finished (its running work is dropped)")
    .argument("<job-id>", "the job's id", jobIdArgument);
  withApiOptions(cancel, TENANT_KEY).action(async (jobId: string, flags: ApiFlags) => {
    const api = connect(flags, TENANT_KEY);
    const out = await api.call((c) => c.tenant.jobs.cancel.mutate({ jobId }));
    process.stdout.write(`${out.status}\n`);
  });
}

/** What `jobs results` prints for a task, before JSON.stringify. */
export interface ResultLine {
  seq: number;
  status: string;
  [meaning: string]: unknown;
}

/**
 * One task's line: its seq and status, then what its output means as the server read it (a
 * text direction with its confidence, text boxes in the image's pixels), or the numbers
 * themselves for a model whose output is a plain tensor; the reason when it failed. `raw` adds
 * the model's raw output to every line.
 */
export function resultLine(
  item: {
    seq: number;
    status: string;
    output: number[] | null;
    interpretation?: unknown;
    error: string | null;
  },
  raw: boolean,
): ResultLine {
  const line: ResultLine = { seq: item.seq, status: item.status };
  const meaning = item.interpretation as { kind?: unknown } | null;
  if (meaning && typeof meaning === "object" && meaning.kind !== "tensor") {
    const { kind: _kind, ...fields } = meaning;
    Object.assign(line, fields);
  } else if (item.output !== null && !raw) {
    line.output = item.output;
  }
  if (item.error !== null) line.error = item.error;
  if (raw) line.output = item.output;
  return line;
}
