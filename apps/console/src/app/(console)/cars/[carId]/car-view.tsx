"use client";
// One car: what it reports, why the scheduler would or would not give it work now, its leases,
// its record (reputation), the energy it has used and what its owner has earned, its changes of
// state, the work it was given and what came of it, and the operator actions taken on it. Quarantine and release are confirmed first and land in the audit log.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import {
  Badge,
  ConfirmButton,
  Empty,
  ErrorState,
  Loading,
  PageHeader,
  Stat,
  TableScroll,
} from "~/components/ui";
import { formatEnergyKWh, formatPowerKW, formatUsd } from "@nightshift/units/format";
import { ago, dateTime, int, num, shortId } from "~/lib/format";
import { usePages } from "~/lib/pages";
import { REFUSAL_WORDS } from "~/lib/refusals";
import { useTRPC, useTRPCClient } from "~/lib/trpc";

const VERDICT_TONES = {
  valid: "ok",
  invalid: "danger",
  pending: "warn",
  none: "muted",
} as const;
const STATE_TONES = { parked: "ok", charging: "ok", driving: "muted" } as const;

export function CarView({ carId }: { carId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const car = useQuery({
    ...trpc.operator.cars.get.queryOptions({ carId }),
    refetchInterval: 5_000,
  });
  const client = useTRPCClient();
  const audit = useQuery(trpc.operator.audit.list.queryOptions({ subjectId: carId, limit: 100 }));
  const history = usePages({
    pathKey: trpc.operator.cars.history.pathKey(),
    input: { carId, limit: 50 },
    fetchPage: (i, cursor: number | undefined) =>
      client.operator.cars.history.query({ ...i, cursor }),
    refetchInterval: 15_000,
  });
  const tasks = usePages({
    pathKey: trpc.operator.cars.tasks.pathKey(),
    input: { carId, limit: 50 },
    fetchPage: (i, cursor: number | undefined) =>
      client.operator.cars.tasks.query({ ...i, cursor }),
    refetchInterval: 15_000,
  });
  const [reason, setReason] = useState("");
  const invalidate = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.operator.cars.get.queryKey({ carId }) }),
      queryClient.invalidateQueries(trpc.operator.audit.list.pathFilter()),
      queryClient.invalidateQueries(trpc.operator.cars.list.pathFilter()),
      queryClient.invalidateQueries(trpc.operator.cars.tasks.pathFilter()),
    ]);
  const quarantine = useMutation(
    trpc.operator.cars.quarantine.mutationOptions({ onSuccess: invalidate }),
  );
  const release = useMutation(
    trpc.operator.cars.release.mutationOptions({ onSuccess: invalidate }),
  );

  if (car.error) return <ErrorState error={car.error} retry={() => void car.refetch()} />;
  if (!car.data) return <Loading label="Loading the car…" rows={6} />;
  const c = car.data;
  const now = Date.now();
  const events = audit.data?.items ?? [];
  const changes = history.data?.pages.flatMap((p) => p.items) ?? [];
  const work = tasks.data?.pages.flatMap((p) => p.items) ?? [];
  const decided = c.validResults + c.invalidResults;

  return (
    <>
      <PageHeader
        title={c.name}
        description={
          <>
            <Link href="/cars">Cars</Link> / <span className="mono">{c.id}</span>
          </>
        }
        actions={
          <>
            <label className="field" style={{ minWidth: 220 }}>
              <span>Reason (for the audit log)</span>
              <input
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                placeholder="optional"
                maxLength={500}
              />
            </label>
            {c.quarantined ? (
              <ConfirmButton
                label="Release"
                testId="car-release"
                title={`Release ${c.name}?`}
                body="The car may take work again. Its reputation restarts from a probation record, so its results are replicated until it earns trust again."
                confirmLabel="Release"
                onConfirm={() => release.mutateAsync({ carId, ...(reason ? { reason } : {}) })}
              />
            ) : (
              <ConfirmButton
                label="Quarantine"
                danger
                testId="car-quarantine"
                title={`Quarantine ${c.name}?`}
                body="Its active leases end at once and go back to the queue; it gets no new work until released."
                confirmLabel="Quarantine"
                onConfirm={() => quarantine.mutateAsync({ carId, ...(reason ? { reason } : {}) })}
              />
            )}
          </>
        }
      />
      <div className="stack">
        <section className="grid grid-stats" aria-label="Now">
          <Stat
            label="State"
            value={c.quarantined ? "quarantined" : c.online ? c.state : "offline"}
            note={`last heard ${ago(c.lastHeartbeatAt, now)}`}
          />
          <Stat
            label="Charge"
            value={`${Math.round(c.socPct)}%`}
            note={`${formatEnergyKWh(c.batteryKWh)} battery`}
          />
          <Stat label="Charger" value={c.pluggedIn ? formatPowerKW(c.chargerKW) : "unplugged"} />
          <Stat label="Hardware" value={c.hardwareId} note={`region ${c.regionId}`} />
          <Stat
            label="Can take work"
            value={c.rejection === null ? "yes" : "no"}
            note={
              c.rejection === null ? "passes every filter" : REFUSAL_WORDS[c.rejection].sentence
            }
          />
          <Stat
            label="Departure"
            value={c.predictedDepartureAt ? dateTime(c.predictedDepartureAt) : "—"}
            note="predicted"
          />
        </section>
        <section className="grid grid-stats" aria-label="Record">
          <Stat
            label="Reputation"
            value={decided > 0 ? `${Math.round((100 * c.validResults) / decided)}% valid` : "new"}
            note={`${int(c.validResults)} valid, ${int(c.invalidResults)} invalid, ${int(c.consecutiveValid)} in a row`}
          />
          <Stat
            label="Energy used"
            value={formatEnergyKWh(c.ledger.energyKWh)}
            testId="car-energy"
            note={`${int(c.ledger.entries)} ledger entries`}
          />
          <Stat label="Energy cost" value={formatUsd(c.ledger.costUsd)} testId="car-cost" />
          <Stat
            label="Owner paid"
            value={formatUsd(c.ledger.payoutUsd)}
            note={`${formatUsd(c.ledger.payoutOwedUsd)} owed for validated work`}
          />
          <Stat label="Enrolled" value={dateTime(c.enrolledAt)} />
        </section>
        <div className="grid grid-2">
          <section className="card" aria-labelledby="leases">
            <h2 id="leases">Tasks running now ({c.leases.length})</h2>
            {c.leases.length === 0 ? (
              <Empty>No active leases.</Empty>
            ) : (
              <TableScroll label="Active leases">
                <table className="table">
                  <thead>
                    <tr>
                      <th>Lease</th>
                      <th>Task</th>
                      <th>Expires</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.leases.map((l) => (
                      <tr key={l.leaseId}>
                        <td className="mono">{shortId(l.leaseId)}</td>
                        <td className="mono">{shortId(l.taskId)}</td>
                        <td>{dateTime(l.expiresAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableScroll>
            )}
          </section>
          <section className="card" aria-labelledby="actions">
            <h2 id="actions">Operator actions on this car</h2>
            {audit.error ? (
              <ErrorState error={audit.error} />
            ) : !audit.data ? (
              <Loading />
            ) : events.length === 0 ? (
              <Empty>None recorded.</Empty>
            ) : (
              <table className="table" data-testid="car-audit">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Action</th>
                    <th>Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {events.map((e) => (
                    <tr key={e.id}>
                      <td>{dateTime(e.at)}</td>
                      <td>
                        <Badge tone={e.action === "cars.quarantine" ? "danger" : "ok"}>
                          {e.action}
                        </Badge>
                      </td>
                      <td>{String((e.detail as { reason?: unknown } | null)?.reason ?? "—")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </div>
        <section className="card" aria-labelledby="work">
          <h2 id="work">Work given to this car</h2>
          <p className="muted small" style={{ marginTop: 0 }}>
            Every lease, newest first: how it ended, whether its result agreed with the other
            replicas (valid), disagreed (invalid) or awaits them (pending), where it ran, how long
            it took, the energy it used and what its owner was paid.
          </p>
          {tasks.error ? (
            <ErrorState error={tasks.error} retry={() => void tasks.refetch()} />
          ) : !tasks.data ? (
            <Loading label="Loading the car's work…" />
          ) : work.length === 0 ? (
            <Empty>This car has not been given any work yet.</Empty>
          ) : (
            <TableScroll label="Work given to this car">
              <table className="table" data-testid="car-tasks">
                <thead>
                  <tr>
                    <th>Leased</th>
                    <th>Job</th>
                    <th>Model</th>
                    <th>Lease</th>
                    <th>Verdict</th>
                    <th>Backend</th>
                    <th className="num">Latency</th>
                    <th className="num">Energy</th>
                    <th className="num">Owner paid</th>
                  </tr>
                </thead>
                <tbody>
                  {work.map((t) => (
                    <tr key={t.leaseId}>
                      <td>{dateTime(t.leasedAt)}</td>
                      <td className="mono">
                        <Link href={`/jobs/${t.jobId}`}>{shortId(t.jobId)}</Link>
                      </td>
                      <td>{t.modelId}</td>
                      <td>
                        {t.status}
                        {t.endReason && t.endReason !== t.status ? (
                          <span className="muted small"> ({t.endReason})</span>
                        ) : null}
                      </td>
                      <td>
                        <Badge tone={VERDICT_TONES[t.verdict]}>{t.verdict}</Badge>
                      </td>
                      <td>{t.backend ?? "—"}</td>
                      <td className="num">
                        {t.durationMs === null ? "—" : `${num(t.durationMs, 0)} ms`}
                      </td>
                      <td className="num">
                        {t.energyKWh === null ? "—" : formatEnergyKWh(t.energyKWh)}
                      </td>
                      <td className="num">{t.payoutUsd === null ? "—" : formatUsd(t.payoutUsd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
          {tasks.hasNextPage ? (
            <button
              type="button"
              style={{ marginTop: "0.75rem" }}
              disabled={tasks.isFetchingNextPage}
              onClick={() => void tasks.fetchNextPage()}
            >
              Older work
            </button>
          ) : null}
        </section>
        <section className="card" aria-labelledby="history">
          <h2 id="history">State history</h2>
          <p className="muted small" style={{ marginTop: 0 }}>
            What the car reported each time its state, charge or plug changed, newest first.
          </p>
          {history.error ? (
            <ErrorState error={history.error} retry={() => void history.refetch()} />
          ) : !history.data ? (
            <Loading label="Loading the car's history…" />
          ) : changes.length === 0 ? (
            <Empty>No changes recorded yet.</Empty>
          ) : (
            <TableScroll label="State history">
              <table className="table" data-testid="car-history">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>State</th>
                    <th className="num">Charge</th>
                    <th>Plugged in</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.map((e, i) => (
                    <tr key={`${e.at}-${i}`}>
                      <td>{dateTime(e.at)}</td>
                      <td>
                        <Badge tone={STATE_TONES[e.state]}>{e.state}</Badge>
                      </td>
                      <td className="num">{Math.round(e.socPct)}%</td>
                      <td>{e.pluggedIn ? "yes" : "no"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
          {history.hasNextPage ? (
            <button
              type="button"
              style={{ marginTop: "0.75rem" }}
              disabled={history.isFetchingNextPage}
              onClick={() => void history.fetchNextPage()}
            >
              Older changes
            </button>
          ) : null}
        </section>
      </div>
    </>
  );
}
