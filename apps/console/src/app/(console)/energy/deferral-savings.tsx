"use client";
// What deferring saved over the period: the runs of jobs that asked for the cheapest or cleanest
// power (core's deferral lets a car on dear or dirty power wait for a better window), their cost
// and carbon against the same runs at the moment their jobs came, in total and by tenant.
import { formatCarbonG, formatUsd } from "@nightshift/units/format";
import { Empty, ErrorState, Loading, Stat, TableScroll } from "~/components/ui";
import { int } from "~/lib/format";
import type { RouterOutputs } from "~/lib/trpc";

type Summary = RouterOutputs["operator"]["ledger"]["summary"];

export function DeferralSavings({
  query,
}: {
  /** The ledger summed by tenant over the page's period. */
  query: { data: Summary | undefined; error: unknown };
}) {
  const total = query.data?.total;
  const rows = query.data?.rows.filter((r) => r.deferredEntries > 0) ?? [];
  return (
    <section className="card stack" aria-labelledby="deferral">
      <div>
        <h2 id="deferral">What waiting for better power saved</h2>
        <p className="muted small" style={{ margin: 0 }}>
          Runs of jobs that asked for the cheapest or cleanest power, against the same runs at the
          moment their jobs came.
        </p>
      </div>
      {query.error ? (
        <ErrorState error={query.error} />
      ) : !total ? (
        <Loading rows={2} />
      ) : (
        <>
          <div className="grid grid-stats">
            <Stat
              label="Cost saved"
              value={formatUsd(total.deferralSavedUsd)}
              testId="deferral-saved-usd"
            />
            <Stat
              label="Carbon saved"
              value={formatCarbonG(total.deferralSavedCarbonG)}
              testId="deferral-saved-carbon"
            />
            <Stat
              label="Runs free to wait"
              value={int(total.deferredEntries)}
              testId="deferral-runs"
              note={`of ${int(total.entries)} in the ledger`}
            />
          </div>
          {rows.length === 0 ? (
            <Empty>No job asked for the cheapest or cleanest power in this period.</Empty>
          ) : (
            <TableScroll label="Deferral by tenant">
              <table className="table" data-testid="deferral-by-tenant">
                <thead>
                  <tr>
                    <th>Tenant</th>
                    <th className="num">Runs free to wait</th>
                    <th className="num">Cost saved</th>
                    <th className="num">Carbon saved</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.key}>
                      <td>{r.key}</td>
                      <td className="num">{int(r.deferredEntries)}</td>
                      <td className="num">{formatUsd(r.deferralSavedUsd)}</td>
                      <td className="num">{formatCarbonG(r.deferralSavedCarbonG)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
        </>
      )}
    </section>
  );
}
