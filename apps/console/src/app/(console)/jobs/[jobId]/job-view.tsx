"use client";
// A job: its progress live (operator.jobs.watch over SSE until it finishes), and each task's
// result for people beside its replicas (which car ran it, how it ended, its verdict) and the
// verification's outcome.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { formatUsd } from "@nightshift/units/format";
import Link from "next/link";
import {
  ConfirmButton,
  Empty,
  ErrorState,
  Loading,
  PageHeader,
  Progress,
  Stat,
} from "~/components/ui";
import { dateTime, int, pct } from "~/lib/format";
import { usePages } from "~/lib/pages";
import { useTRPC, useTRPCClient } from "~/lib/trpc";
import { OBJECTIVE_NOTES } from "../objective";
import { StatusBadge } from "../status";
import { TaskResult } from "./task-result";

export function JobView({ jobId }: { jobId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const job = useQuery(trpc.operator.jobs.get.queryOptions({ jobId }));
  const running = job.data?.status === "queued" || job.data?.status === "running";
  const client = useTRPCClient();
  const results = usePages({
    pathKey: trpc.operator.jobs.results.pathKey(),
    input: { jobId, limit: 24 },
    fetchPage: (i, cursor: number | undefined) =>
      client.operator.jobs.results.query({ ...i, cursor }),
  });
  // Same page size as the results: page N of one matches page N of the other.
  const tasks = usePages({
    pathKey: trpc.operator.jobs.tasks.pathKey(),
    input: { jobId, limit: 24 },
    fetchPage: (i, cursor: number | undefined) =>
      client.operator.jobs.tasks.query({ ...i, cursor }),
  });
  useSubscription(
    trpc.operator.jobs.watch.subscriptionOptions(
      { jobId, intervalMs: 1000 },
      {
        enabled: running,
        onData: (update) => {
          queryClient.setQueryData(trpc.operator.jobs.get.queryKey({ jobId }), update);
          void queryClient.invalidateQueries(trpc.operator.jobs.results.pathFilter());
          void queryClient.invalidateQueries(trpc.operator.jobs.tasks.pathFilter());
        },
      },
    ),
  );
  const cancel = useMutation(
    trpc.operator.jobs.cancel.mutationOptions({
      onSuccess: () =>
        queryClient.invalidateQueries({ queryKey: trpc.operator.jobs.get.queryKey({ jobId }) }),
    }),
  );

  if (job.error) return <ErrorState error={job.error} retry={() => void job.refetch()} />;
  if (!job.data) return <Loading label="Loading the job…" rows={5} />;
  const j = job.data;
  const items = results.data?.pages.flatMap((p) => p.items) ?? [];
  const details = new Map(
    (tasks.data?.pages.flatMap((p) => p.items) ?? []).map((t) => [t.taskId, t]),
  );
  const counts = items.reduce<Record<string, number>>(
    (acc, i) => ({ ...acc, [i.status]: (acc[i.status] ?? 0) + 1 }),
    {},
  );

  return (
    <>
      <PageHeader
        title={`Job ${j.id.slice(0, 8)}`}
        description={
          <>
            <Link href="/jobs">Jobs</Link> / <span className="mono">{j.id}</span>
          </>
        }
        actions={
          running ? (
            <ConfirmButton
              label="Cancel job"
              danger
              title="Cancel this job?"
              body="Its running leases end and its waiting work is dropped. Validated results stay."
              confirmLabel="Cancel job"
              onConfirm={() => cancel.mutateAsync({ jobId })}
            />
          ) : null
        }
      />
      <div className="stack">
        <section className="grid grid-stats" aria-label="Summary">
          <Stat label="Status" value={<StatusBadge status={j.status} />} testId="job-status" />
          <Stat label="Tenant" value={j.tenantId} note={`model ${j.modelId}`} />
          <Stat
            label="Progress"
            value={pct(j.progress)}
            note={`${int(j.tasksValidated)} valid, ${int(j.tasksFailed)} failed of ${int(j.taskCount)}`}
          />
          <Stat
            label="Replication"
            value={j.replication === "auto" ? "adaptive" : `${j.replication}×`}
            note={
              j.replication === "auto"
                ? "trusted cars run alone, with spot checks"
                : "replicas per task"
            }
          />
          <Stat
            label="Objective"
            value={j.objective}
            testId="job-objective"
            note={OBJECTIVE_NOTES[j.objective]}
          />
          <Stat
            label="Budget"
            value={j.budgetUsd === null ? "none" : formatUsd(j.budgetUsd)}
            note={j.endReason === "budget" ? "spent: the job stopped" : "most the job may cost"}
          />
          <Stat
            label="Submitted"
            value={dateTime(j.submittedAt)}
            note={
              j.completedAt
                ? `done ${dateTime(j.completedAt)}`
                : j.deadlineAt
                  ? `deadline ${dateTime(j.deadlineAt)}`
                  : undefined
            }
          />
        </section>
        <div className="card">
          <Progress
            value={j.progress}
            failed={j.taskCount ? j.tasksFailed / j.taskCount : 0}
            label="Job progress"
          />
        </div>
        <section className="card" aria-labelledby="verification">
          <h2 id="verification">Verification</h2>
          <p className="muted small" style={{ marginTop: 0 }}>
            Each task is run by one or more cars; results that agree within the model&apos;s
            tolerance validate it, and agreeing cars are paid. Outcomes of the tasks loaded below:{" "}
            {Object.keys(counts).length
              ? Object.entries(counts)
                  .map(([s, n]) => `${n} ${s}`)
                  .join(", ")
              : "none yet"}
            . Each task below lists its replicas: the car, how its lease ended and its verdict.
          </p>
          {tasks.error ? (
            <ErrorState error={tasks.error} retry={() => void tasks.refetch()} />
          ) : null}
        </section>
        <section aria-labelledby="results">
          <h2 id="results">Results</h2>
          {results.error ? (
            <ErrorState error={results.error} retry={() => void results.refetch()} />
          ) : !results.data ? (
            <Loading label="Loading results…" />
          ) : items.length === 0 ? (
            <Empty>No tasks.</Empty>
          ) : (
            <div
              className="grid"
              style={{ gridTemplateColumns: "repeat(auto-fill, minmax(300px, 1fr))" }}
            >
              {items.map((item) => (
                <TaskResult
                  key={item.taskId}
                  item={item}
                  detail={tasks.data ? (details.get(item.taskId) ?? null) : undefined}
                />
              ))}
            </div>
          )}
          {results.hasNextPage ? (
            <button
              type="button"
              style={{ marginTop: "1rem" }}
              onClick={() => {
                void results.fetchNextPage();
                if (tasks.hasNextPage) void tasks.fetchNextPage();
              }}
            >
              More results
            </button>
          ) : null}
        </section>
      </div>
    </>
  );
}
