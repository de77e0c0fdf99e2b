"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useMemo, useState } from "react";
import { Empty, ErrorState, Loading, PageHeader, Progress, TableScroll } from "~/components/ui";
import { dateTime, int, shortId } from "~/lib/format";
import { usePages } from "~/lib/pages";
import { type RouterInputs, useTRPC, useTRPCClient } from "~/lib/trpc";
import { StatusBadge } from "./status";

type Status = NonNullable<RouterInputs["operator"]["jobs"]["list"]["status"]>;
const STATUSES: Status[] = ["queued", "running", "completed", "cancelled", "failed"];

export function JobsView() {
  const trpc = useTRPC();
  const [status, setStatus] = useState<"" | Status>("");
  const [tenantId, setTenantId] = useState("");
  const tenants = useQuery(trpc.operator.tenants.list.queryOptions());
  const input = useMemo(
    () => ({ limit: 50, ...(status ? { status } : {}), ...(tenantId ? { tenantId } : {}) }),
    [status, tenantId],
  );
  const client = useTRPCClient();
  const jobs = usePages({
    pathKey: trpc.operator.jobs.list.pathKey(),
    input,
    fetchPage: (i, cursor: string | undefined) => client.operator.jobs.list.query({ ...i, cursor }),
    // Progress moves while the page is open.
    refetchInterval: 3_000,
  });
  const rows = jobs.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <>
      <PageHeader
        title="Jobs"
        description="Newest first; progress updates every few seconds."
        actions={
          <Link className="button primary" href="/jobs/new">
            Submit a job
          </Link>
        }
      />
      <div className="card stack">
        <div className="row" role="group" aria-label="Filters">
          <label className="field">
            <span>Status</span>
            <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Tenant</span>
            <select value={tenantId} onChange={(e) => setTenantId(e.target.value)}>
              <option value="">All tenants</option>
              {tenants.data?.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        </div>
        {jobs.error ? (
          <ErrorState error={jobs.error} retry={() => void jobs.refetch()} />
        ) : !jobs.data ? (
          <Loading label="Loading jobs…" rows={5} />
        ) : rows.length === 0 ? (
          <Empty>No jobs yet. Tenants submit them with the API, the CLI or the form here.</Empty>
        ) : (
          <TableScroll label="Jobs">
            <table className="table" data-testid="jobs-table">
              <thead>
                <tr>
                  <th>Job</th>
                  <th>Tenant</th>
                  <th>Model</th>
                  <th>Objective</th>
                  <th>Status</th>
                  <th style={{ width: "22%" }}>Progress</th>
                  <th className="num">Tasks</th>
                  <th>Submitted</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((j) => (
                  <tr key={j.id}>
                    <td>
                      <Link className="mono" href={`/jobs/${j.id}`}>
                        {shortId(j.id)}
                      </Link>
                    </td>
                    <td>{j.tenantId}</td>
                    <td>{j.modelId}</td>
                    <td>{j.objective}</td>
                    <td>
                      <StatusBadge status={j.status} />
                    </td>
                    <td>
                      <div className="row" style={{ flexWrap: "nowrap" }}>
                        <div style={{ flex: 1 }}>
                          <Progress
                            value={j.progress}
                            failed={j.taskCount ? j.tasksFailed / j.taskCount : 0}
                            label={`Job ${shortId(j.id)} progress`}
                          />
                        </div>
                        <span className="small muted">{Math.round(j.progress * 100)}%</span>
                      </div>
                    </td>
                    <td className="num">
                      {int(j.tasksValidated)}/{int(j.taskCount)}
                      {j.tasksFailed ? ` (${int(j.tasksFailed)} failed)` : ""}
                    </td>
                    <td>{dateTime(j.submittedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {jobs.hasNextPage ? (
              <button
                type="button"
                onClick={() => void jobs.fetchNextPage()}
                disabled={jobs.isFetchingNextPage}
              >
                {jobs.isFetchingNextPage ? "Loading…" : "Load more"}
              </button>
            ) : null}
          </TableScroll>
        )}
      </div>
    </>
  );
}
