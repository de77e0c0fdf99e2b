"use client";
import { useState } from "react";
import { Empty, ErrorState, Loading, TableScroll } from "~/components/ui";
import { dateTime, shortId } from "~/lib/format";
import { usePages } from "~/lib/pages";
import { useTRPC, useTRPCClient } from "~/lib/trpc";

const KINDS = [
  "",
  "region",
  "tenant",
  "car",
  "job",
  "lease",
  "owner",
  "enrollmentCode",
  "operator",
];

function describeDetail(detail: unknown): string {
  if (detail === null || typeof detail !== "object") return "";
  const entries = Object.entries(detail as Record<string, unknown>).filter(
    ([, v]) => v !== null && v !== undefined,
  );
  return entries
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ")
    .slice(0, 200);
}

export function AuditLog() {
  const trpc = useTRPC();
  const [subjectKind, setSubjectKind] = useState("");
  const client = useTRPCClient();
  const audit = usePages({
    pathKey: trpc.operator.audit.list.pathKey(),
    input: { limit: 50, ...(subjectKind ? { subjectKind } : {}) },
    fetchPage: (i, cursor: number | undefined) =>
      client.operator.audit.list.query({ ...i, cursor }),
    refetchInterval: 10_000,
  });
  const rows = audit.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="card stack" style={{ marginTop: "1rem" }} aria-labelledby="audit">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 id="audit" style={{ margin: 0 }}>
          Audit log
        </h2>
        <label className="field">
          <span>Subject</span>
          <select value={subjectKind} onChange={(e) => setSubjectKind(e.target.value)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k || "Everything"}
              </option>
            ))}
          </select>
        </label>
      </div>
      {audit.error ? (
        <ErrorState error={audit.error} retry={() => void audit.refetch()} />
      ) : !audit.data ? (
        <Loading label="Loading the audit log…" rows={5} />
      ) : rows.length === 0 ? (
        <Empty>Nothing recorded yet.</Empty>
      ) : (
        <TableScroll label="Audit log">
          <table className="table" data-testid="audit-table">
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Subject</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id}>
                  <td>{dateTime(e.at)}</td>
                  <td>
                    {e.actorKind}
                    {e.actorId ? <span className="muted mono"> {shortId(e.actorId)}</span> : null}
                  </td>
                  <td className="mono">{e.action}</td>
                  <td>
                    {e.subjectKind}{" "}
                    <span className="mono">
                      {e.subjectId.length > 20 ? shortId(e.subjectId) : e.subjectId}
                    </span>
                  </td>
                  <td className="small muted" style={{ whiteSpace: "normal", minWidth: 200 }}>
                    {describeDetail(e.detail)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {audit.hasNextPage ? (
            <button
              type="button"
              onClick={() => void audit.fetchNextPage()}
              disabled={audit.isFetchingNextPage}
            >
              Older events
            </button>
          ) : null}
        </TableScroll>
      )}
    </section>
  );
}
