"use client";
// A region's time-of-use tariff (rates over the local day) and hourly carbon intensity. The server
// checks them with core (the rates must cover the 24 hours exactly once) and names what is wrong.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { isTRPCClientError } from "@trpc/client";
import { useEffect, useState } from "react";
import { formatUtcOffset } from "@nightshift/time-zones/offsets";
import { Badge, ErrorState, Loading, TableScroll } from "~/components/ui";
import { dateTime } from "~/lib/format";
import { type RouterOutputs, useTRPC } from "~/lib/trpc";

type Region = RouterOutputs["operator"]["regions"]["list"][number];
type Rate = Region["tariff"][number];

export function TariffEditor() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const regions = useQuery(trpc.operator.regions.list.queryOptions());
  const [regionId, setRegionId] = useState("");
  const region = regions.data?.find((r) => r.id === regionId);
  const [rates, setRates] = useState<Rate[]>([]);
  const [carbon, setCarbon] = useState<number[]>([]);
  const [message, setMessage] = useState<{ tone: "error" | "ok"; text: string } | null>(null);
  const update = useMutation(trpc.operator.regions.update.mutationOptions());

  useEffect(() => {
    if (!regionId && regions.data?.[0]) setRegionId(regions.data[0].id);
  }, [regionId, regions.data]);
  useEffect(() => {
    if (region) {
      setRates(region.tariff.map((r) => ({ ...r })));
      setCarbon([...region.carbonGPerKWh]);
      setMessage(null);
    }
  }, [region]);

  const setRate = (i: number, patch: Partial<Rate>) =>
    setRates(rates.map((r, k) => (k === i ? { ...r, ...patch } : r)));

  return (
    <section className="card stack" style={{ marginTop: "1rem" }} aria-labelledby="tariffs">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <h2 id="tariffs" style={{ margin: 0 }}>
          Tariffs and carbon
        </h2>
        {regions.data ? (
          <label className="field">
            <span>Region</span>
            <select value={regionId} onChange={(e) => setRegionId(e.target.value)}>
              {regions.data.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
      </div>
      {regions.error ? (
        <ErrorState error={regions.error} retry={() => void regions.refetch()} />
      ) : !region ? (
        <Loading />
      ) : (
        <form
          className="stack"
          onSubmit={async (e) => {
            e.preventDefault();
            setMessage(null);
            try {
              await update.mutateAsync({ id: region.id, tariff: rates, carbonGPerKWh: carbon });
              await queryClient.invalidateQueries({
                queryKey: trpc.operator.regions.list.queryKey(),
              });
              setMessage({ tone: "ok", text: "Saved. New leases are priced with it at once." });
            } catch (err) {
              setMessage({
                tone: "error",
                text: isTRPCClientError(err) ? err.message : String(err),
              });
            }
          }}
        >
          <p className="muted small" style={{ margin: 0 }}>
            Local time in {region.timeZone}, {formatUtcOffset(region.utcOffsetS)} now.{" "}
            {region.drained ? <Badge tone="warn">drained</Badge> : null} Last changed{" "}
            {dateTime(region.updatedAt)}.
          </p>
          <TableScroll label="Tariff rates">
            <table className="table" style={{ maxWidth: 560 }}>
              <thead>
                <tr>
                  <th>From (hour)</th>
                  <th>To (hour)</th>
                  <th>Price (USD/kWh)</th>
                  <th>
                    <span className="sr-only">Remove</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rates.map((r, i) => (
                  <tr key={i}>
                    <td>
                      <input
                        aria-label={`Rate ${i + 1} start hour`}
                        type="number"
                        min={0}
                        max={24}
                        step="any"
                        value={r.start}
                        onChange={(e) => setRate(i, { start: Number(e.target.value) })}
                        style={{ width: 90 }}
                      />
                    </td>
                    <td>
                      <input
                        aria-label={`Rate ${i + 1} end hour`}
                        type="number"
                        min={0}
                        max={24}
                        step="any"
                        value={r.end}
                        onChange={(e) => setRate(i, { end: Number(e.target.value) })}
                        style={{ width: 90 }}
                      />
                    </td>
                    <td>
                      <input
                        aria-label={`Rate ${i + 1} price`}
                        type="number"
                        min={0}
                        step="any"
                        value={r.priceUsdPerKWh}
                        onChange={(e) => setRate(i, { priceUsdPerKWh: Number(e.target.value) })}
                        style={{ width: 110 }}
                      />
                    </td>
                    <td>
                      <button
                        type="button"
                        onClick={() => setRates(rates.filter((_, k) => k !== i))}
                        disabled={rates.length <= 1}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          <div>
            <button
              type="button"
              onClick={() => setRates([...rates, { start: 0, end: 0, priceUsdPerKWh: 0 }])}
            >
              Add a rate
            </button>
          </div>
          <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
            <legend className="small" style={{ fontWeight: 550, marginBottom: "0.4rem" }}>
              Carbon intensity by local hour (gCO₂/kWh)
            </legend>
            <div
              className="grid"
              style={{ gridTemplateColumns: "repeat(auto-fill, minmax(74px, 1fr))", gap: "0.4rem" }}
            >
              {carbon.map((g, h) => (
                <label key={h} className="field">
                  <span className="small">{String(h).padStart(2, "0")}:00</span>
                  <input
                    type="number"
                    min={0}
                    step="any"
                    value={g}
                    onChange={(e) =>
                      setCarbon(carbon.map((x, k) => (k === h ? Number(e.target.value) : x)))
                    }
                  />
                </label>
              ))}
            </div>
          </fieldset>
          {message ? (
            <p
              className={`alert${message.tone === "error" ? " error" : ""}`}
              role={message.tone === "error" ? "alert" : "status"}
              style={{ margin: 0 }}
            >
              {message.text}
            </p>
          ) : null}
          <div className="row">
            <button type="submit" className="primary" disabled={update.isPending}>
              {update.isPending ? "Saving…" : "Save tariff and carbon"}
            </button>
            <button
              type="button"
              onClick={() => {
                setRates(region.tariff.map((r) => ({ ...r })));
                setCarbon([...region.carbonGPerKWh]);
                setMessage(null);
              }}
            >
              Undo changes
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
