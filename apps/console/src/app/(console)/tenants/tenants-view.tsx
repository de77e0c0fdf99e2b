"use client";
// Tenants side by side: the share of the fleet each is guaranteed (quota), the share of running
// work it has now (use) and what it borrows beyond its quota from others' idle share. Quota,
// weight and limits are edited in a dialog; pause and resume are confirmed. Every change is
// audited by the server.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { isTRPCClientError } from "@trpc/client";
import { useEffect, useRef, useState } from "react";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import {
  Badge,
  ConfirmButton,
  Empty,
  ErrorState,
  Loading,
  PageHeader,
  TableScroll,
} from "~/components/ui";
import { int, pct } from "~/lib/format";
import { type RouterOutputs, useTRPC } from "~/lib/trpc";

type Tenant = RouterOutputs["operator"]["tenants"]["list"][number];

/** Share of the fleet's running work (leased units) that is this tenant's, and what it borrows. */
function usage(t: Tenant, totalLeased: number) {
  const useShare = totalLeased > 0 ? t.activeLeases / totalLeased : 0;
  return { useShare, borrowedShare: Math.max(0, useShare - t.quotaShare) };
}

function shareField(value: number | null) {
  return value === null ? "" : String(Math.round(value * 1000) / 10);
}

function EditTenant({ tenant, onSaved }: { tenant: Tenant; onSaved: () => Promise<unknown> }) {
  const trpc = useTRPC();
  const ref = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({
    quota: shareField(tenant.quotaShare),
    weight: String(tenant.weight),
    borrow: shareField(tenant.borrowingLimitShare),
    lend: shareField(tenant.lendingLimitShare),
  });
  const [error, setError] = useState<string | null>(null);
  const update = useMutation(trpc.operator.tenants.update.mutationOptions());
  useEffect(() => {
    const d = ref.current;
    if (open && d && !d.open) d.showModal();
    if (!open && d?.open) d.close();
  }, [open]);
  const pctOrNull = (s: string) => (s.trim() === "" ? null : Number(s) / 100);
  return (
    <>
      <button
        type="button"
        data-testid={`edit-${tenant.id}`}
        onClick={() => {
          setForm({
            quota: shareField(tenant.quotaShare),
            weight: String(tenant.weight),
            borrow: shareField(tenant.borrowingLimitShare),
            lend: shareField(tenant.lendingLimitShare),
          });
          setError(null);
          setOpen(true);
        }}
      >
        Edit
      </button>
      <dialog ref={ref} aria-labelledby={`edit-${tenant.id}-title`} onClose={() => setOpen(false)}>
        {open ? (
          <form
            className="stack"
            onSubmit={async (e) => {
              e.preventDefault();
              setError(null);
              try {
                await update.mutateAsync({
                  id: tenant.id,
                  quotaShare: Number(form.quota) / 100,
                  weight: Number(form.weight),
                  borrowingLimitShare: pctOrNull(form.borrow),
                  lendingLimitShare: pctOrNull(form.lend),
                });
                await onSaved();
                setOpen(false);
              } catch (err) {
                setError(isTRPCClientError(err) ? err.message : String(err));
              }
            }}
          >
            <h2 id={`edit-${tenant.id}-title`}>Edit {tenant.name}</h2>
            <div className="form-grid">
              <label className="field">
                <span>Quota (% of the fleet)</span>
                <input
                  type="number"
                  min={0}
                  max={100}
                  step="any"
                  required
                  value={form.quota}
                  onChange={(e) => setForm({ ...form, quota: e.target.value })}
                />
              </label>
              <label className="field">
                <span>Weight</span>
                <input
                  type="number"
                  min={0.001}
                  max={1000}
                  step="any"
                  required
                  value={form.weight}
                  onChange={(e) => setForm({ ...form, weight: e.target.value })}
                />
              </label>
              <label className="field">
                <span>Borrowing limit (%)</span>
                <input
                  type="number"
                  min={0}
                  max={100}
                  step="any"
                  placeholder="no limit"
                  value={form.borrow}
                  onChange={(e) => setForm({ ...form, borrow: e.target.value })}
                />
              </label>
              <label className="field">
                <span>Lending limit (%)</span>
                <input
                  type="number"
                  min={0}
                  max={100}
                  step="any"
                  placeholder="lends all idle quota"
                  value={form.lend}
                  onChange={(e) => setForm({ ...form, lend: e.target.value })}
                />
              </label>
            </div>
            <p className="muted small" style={{ margin: 0 }}>
              Empty limits mean none. Quotas are guaranteed only while the tenant has the demand;
              idle quota is lent to others and taken back by preemption.
            </p>
            {error ? (
              <p className="alert error" role="alert" style={{ margin: 0 }}>
                {error}
              </p>
            ) : null}
            <div className="dialog-actions">
              <button type="button" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button type="submit" className="primary" disabled={update.isPending}>
                {update.isPending ? "Saving…" : "Save"}
              </button>
            </div>
          </form>
        ) : null}
      </dialog>
    </>
  );
}

export function TenantsView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tenants = useQuery({
    ...trpc.operator.tenants.list.queryOptions(),
    refetchInterval: 5_000,
  });
  const update = useMutation(trpc.operator.tenants.update.mutationOptions());
  const refresh = () =>
    queryClient.invalidateQueries({ queryKey: trpc.operator.tenants.list.queryKey() });

  return (
    <>
      <PageHeader
        title="Tenants"
        description="Guaranteed quota, current use and borrowed capacity; weights share what is beyond the guarantees."
      />
      {tenants.error ? (
        <ErrorState error={tenants.error} retry={() => void tenants.refetch()} />
      ) : !tenants.data ? (
        <div className="card">
          <Loading label="Loading tenants…" rows={4} />
        </div>
      ) : tenants.data.length === 0 ? (
        <div className="card">
          <Empty>No tenants yet.</Empty>
        </div>
      ) : (
        <TenantsBody
          tenants={tenants.data}
          refresh={refresh}
          setPaused={(id, paused) => update.mutateAsync({ id, paused }).then(refresh)}
        />
      )}
    </>
  );
}

function TenantsBody({
  tenants,
  refresh,
  setPaused,
}: {
  tenants: Tenant[];
  refresh: () => Promise<unknown>;
  setPaused: (id: string, paused: boolean) => Promise<unknown>;
}) {
  const totalLeased = tenants.reduce((n, t) => n + t.activeLeases, 0);
  const chart = tenants.map((t) => {
    const u = usage(t, totalLeased);
    return {
      name: t.name,
      quota: t.quotaShare * 100,
      use: u.useShare * 100,
      borrowed: u.borrowedShare * 100,
    };
  });
  return (
    <div className="stack">
      <section className="card" aria-labelledby="tenants-table">
        <h2 id="tenants-table">Tenants</h2>
        <TableScroll label="Tenants">
          <table className="table" data-testid="tenants-table">
            <thead>
              <tr>
                <th>Tenant</th>
                <th className="num">Quota</th>
                <th className="num">Use</th>
                <th className="num">Borrowed</th>
                <th className="num">Weight</th>
                <th className="num">Borrow limit</th>
                <th className="num">Lend limit</th>
                <th className="num">Running / queued</th>
                <th>Status</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tenants.map((t) => {
                const u = usage(t, totalLeased);
                return (
                  <tr key={t.id} data-testid={`tenant-${t.id}`}>
                    <td>
                      <strong>{t.name}</strong>
                      <div className="muted small mono">{t.id}</div>
                    </td>
                    <td className="num" data-testid={`quota-${t.id}`}>
                      {pct(t.quotaShare, 1)}
                    </td>
                    <td className="num">{pct(u.useShare, 1)}</td>
                    <td className="num">{u.borrowedShare > 0 ? pct(u.borrowedShare, 1) : "—"}</td>
                    <td className="num">{t.weight}</td>
                    <td className="num">
                      {t.borrowingLimitShare === null ? "none" : pct(t.borrowingLimitShare, 1)}
                    </td>
                    <td className="num">
                      {t.lendingLimitShare === null ? "all" : pct(t.lendingLimitShare, 1)}
                    </td>
                    <td className="num">
                      {int(t.activeLeases)} / {int(t.queued)}
                    </td>
                    <td>
                      {t.paused ? (
                        <Badge tone="warn">paused</Badge>
                      ) : (
                        <Badge tone="ok">active</Badge>
                      )}
                    </td>
                    <td>
                      <div className="row" style={{ flexWrap: "nowrap" }}>
                        <EditTenant tenant={t} onSaved={refresh} />
                        <ConfirmButton
                          label={t.paused ? "Resume" : "Pause"}
                          danger={!t.paused}
                          testId={`${t.paused ? "resume" : "pause"}-${t.id}`}
                          title={`${t.paused ? "Resume" : "Pause"} ${t.name}?`}
                          body={
                            t.paused
                              ? "Its queued work becomes eligible for cars again."
                              : "Cars get none of its work until it is resumed; running leases finish. Its idle quota is lent to others."
                          }
                          confirmLabel={t.paused ? "Resume" : "Pause"}
                          onConfirm={() => setPaused(t.id, !t.paused)}
                        />
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
        <p className="muted small">
          Use is the tenant&apos;s share of the work units leased to cars now ({int(totalLeased)} in
          all); borrowed is its use above its quota.
        </p>
      </section>
      <section className="card" aria-labelledby="tenants-chart">
        <h2 id="tenants-chart">Quota, use and borrowed, % of the fleet</h2>
        <div className="chart" role="img" aria-label="Quota, use and borrowed share per tenant">
          <ResponsiveContainer>
            <BarChart data={chart} margin={{ left: 8, right: 16, top: 8 }}>
              <CartesianGrid stroke="var(--border)" strokeDasharray="3 3" />
              <XAxis dataKey="name" stroke="var(--muted)" />
              <YAxis stroke="var(--muted)" unit="%" width={56} />
              <Tooltip
                formatter={(v) => `${Number(v).toFixed(1)}%`}
                contentStyle={{ background: "var(--panel)", border: "1px solid var(--border)" }}
              />
              <Legend />
              <Bar name="Quota" dataKey="quota" fill="var(--chart-1)" isAnimationActive={false} />
              <Bar name="Use" dataKey="use" fill="var(--chart-3)" isAnimationActive={false} />
              <Bar
                name="Borrowed"
                dataKey="borrowed"
                fill="var(--chart-2)"
                isAnimationActive={false}
              />
            </BarChart>
          </ResponsiveContainer>
        </div>
      </section>
    </div>
  );
}
