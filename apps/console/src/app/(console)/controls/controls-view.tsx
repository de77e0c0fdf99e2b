"use client";
// The operator's levers, each confirmed in a dialog and recorded by the server in the audit log:
// drain a region (no new leases there; running ones finish), quarantine or release a car, pause
// or resume a tenant.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { Badge, ConfirmButton, Empty, ErrorState, Loading, PageHeader } from "~/components/ui";
import { useTRPC } from "~/lib/trpc";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function ControlsView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const regions = useQuery(trpc.operator.regions.list.queryOptions());
  const tenants = useQuery(trpc.operator.tenants.list.queryOptions());
  const refreshAudit = () => queryClient.invalidateQueries(trpc.operator.audit.list.pathFilter());
  const afterRegion = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.operator.regions.list.queryKey() }),
      refreshAudit(),
    ]);
  const drain = useMutation(
    trpc.operator.regions.drain.mutationOptions({ onSuccess: afterRegion }),
  );
  const undrain = useMutation(
    trpc.operator.regions.undrain.mutationOptions({ onSuccess: afterRegion }),
  );
  const afterTenant = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.operator.tenants.list.queryKey() }),
      refreshAudit(),
    ]);
  const updateTenant = useMutation(
    trpc.operator.tenants.update.mutationOptions({ onSuccess: afterTenant }),
  );

  const [carId, setCarId] = useState("");
  const validCar = UUID.test(carId.trim());
  const car = useQuery({
    ...trpc.operator.cars.get.queryOptions({ carId: carId.trim() }),
    enabled: validCar,
    retry: false,
  });
  const afterCar = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.operator.cars.get.queryKey() }),
      refreshAudit(),
    ]);
  const quarantine = useMutation(
    trpc.operator.cars.quarantine.mutationOptions({ onSuccess: afterCar }),
  );
  const release = useMutation(trpc.operator.cars.release.mutationOptions({ onSuccess: afterCar }));

  return (
    <>
      <PageHeader
        title="Controls & audit"
        description="Every action asks first and is recorded in the audit log below."
      />
      <div className="grid grid-2">
        <section className="card" aria-labelledby="regions">
          <h2 id="regions">Regions</h2>
          {regions.error ? (
            <ErrorState error={regions.error} retry={() => void regions.refetch()} />
          ) : !regions.data ? (
            <Loading />
          ) : regions.data.length === 0 ? (
            <Empty>No regions.</Empty>
          ) : (
            <table className="table">
              <tbody>
                {regions.data.map((r) => (
                  <tr key={r.id} data-testid={`region-${r.id}`}>
                    <td>
                      <strong>{r.name}</strong>
                      <div className="muted small mono">{r.id}</div>
                    </td>
                    <td>
                      {r.drained ? (
                        <Badge tone="warn">drained</Badge>
                      ) : (
                        <Badge tone="ok">taking work</Badge>
                      )}
                    </td>
                    <td style={{ textAlign: "right" }}>
                      {r.drained ? (
                        <ConfirmButton
                          label="Restore"
                          testId={`undrain-${r.id}`}
                          title={`Restore ${r.name}?`}
                          body="Its cars may take new work again."
                          confirmLabel="Restore"
                          onConfirm={() => undrain.mutateAsync({ id: r.id })}
                        />
                      ) : (
                        <ConfirmButton
                          label="Drain"
                          danger
                          testId={`drain-${r.id}`}
                          title={`Drain ${r.name}?`}
                          body="Its cars get no new leases; the work they are running now finishes. Use it before grid events or maintenance."
                          confirmLabel="Drain region"
                          onConfirm={() => drain.mutateAsync({ id: r.id })}
                        />
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="card" aria-labelledby="tenant-controls">
          <h2 id="tenant-controls">Tenants</h2>
          {tenants.error ? (
            <ErrorState error={tenants.error} retry={() => void tenants.refetch()} />
          ) : !tenants.data ? (
            <Loading />
          ) : tenants.data.length === 0 ? (
            <Empty>No tenants.</Empty>
          ) : (
            <table className="table">
              <tbody>
                {tenants.data.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <strong>{t.name}</strong>
                      <div className="muted small mono">{t.id}</div>
                    </td>
                    <td>
                      {t.paused ? (
                        <Badge tone="warn">paused</Badge>
                      ) : (
                        <Badge tone="ok">active</Badge>
                      )}
                    </td>
                    <td style={{ textAlign: "right" }}>
                      <ConfirmButton
                        label={t.paused ? "Resume" : "Pause"}
                        danger={!t.paused}
                        title={`${t.paused ? "Resume" : "Pause"} ${t.name}?`}
                        body={
                          t.paused
                            ? "Its queued work becomes eligible for cars again."
                            : "Cars get none of its work until it is resumed; running leases finish."
                        }
                        confirmLabel={t.paused ? "Resume" : "Pause"}
                        onConfirm={() => updateTenant.mutateAsync({ id: t.id, paused: !t.paused })}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="card stack" aria-labelledby="car-controls">
          <h2 id="car-controls" style={{ margin: 0 }}>
            A car
          </h2>
          <label className="field">
            <span>Car id</span>
            <input
              className="mono"
              value={carId}
              onChange={(e) => setCarId(e.target.value)}
              placeholder="from the Cars page, e.g. 0b6f…"
            />
          </label>
          {!carId.trim() ? (
            <p className="muted small" style={{ margin: 0 }}>
              Or open a car from the <Link href="/cars">Cars</Link> page.
            </p>
          ) : !validCar ? (
            <p className="small" style={{ margin: 0, color: "var(--danger)" }}>
              Car id: not a car id (a UUID)
            </p>
          ) : car.error ? (
            <ErrorState error={car.error} />
          ) : !car.data ? (
            <Loading rows={1} />
          ) : (
            <div className="row">
              <Link href={`/cars/${car.data.id}`}>{car.data.name}</Link>
              {car.data.quarantined ? (
                <Badge tone="danger">quarantined</Badge>
              ) : (
                <Badge tone="ok">in service</Badge>
              )}
              {car.data.quarantined ? (
                <ConfirmButton
                  label="Release"
                  title={`Release ${car.data.name}?`}
                  body="It may take work again, on probation."
                  confirmLabel="Release"
                  onConfirm={() => release.mutateAsync({ carId: car.data.id })}
                />
              ) : (
                <ConfirmButton
                  label="Quarantine"
                  danger
                  title={`Quarantine ${car.data.name}?`}
                  body="Its active leases end at once; it gets no new work until released."
                  confirmLabel="Quarantine"
                  onConfirm={() => quarantine.mutateAsync({ carId: car.data.id })}
                />
              )}
            </div>
          )}
        </section>
      </div>
    </>
  );
}
