"use client";
// Submits a job on a tenant's behalf (operator.jobs.submit, recorded in the audit log). The model
// list says whether a model takes images (uploaded here, one task each) or named tensors (JSON).
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { ErrorState, PageHeader } from "~/components/ui";
import { type RouterInputs, type RouterOutputs, useTRPC } from "~/lib/trpc";
import { type Objective, OBJECTIVE_NOTES } from "../objective";

type SubmitInput = RouterInputs["operator"]["jobs"]["submit"];
type Model = RouterOutputs["operator"]["models"]["list"][number];

/** One task's input shaped as the model's spec says, zeros where the data goes (small ones). */
export function exampleTensors(model: Model): string {
  const spec = (model.inputSpec ?? {}) as Record<string, { dims?: unknown }>;
  const task = Object.fromEntries(
    Object.entries(spec).map(([name, s]) => {
      const dims = Array.isArray(s.dims) ? s.dims.map((d) => (typeof d === "number" ? d : 1)) : [];
      const size = dims.reduce((a, b) => a * b, 1);
      return [name, { dims, data: size <= 64 ? Array.from({ length: size }, () => 0) : [] }];
    }),
  );
  return JSON.stringify([task]);
}

/** The server's limit for one image (decoded). */
const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

async function fileToBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function SubmitJob() {
  const trpc = useTRPC();
  const router = useRouter();
  const tenants = useQuery(trpc.operator.tenants.list.queryOptions());
  const models = useQuery(trpc.operator.models.list.queryOptions());
  const [tenantId, setTenantId] = useState("");
  const [modelId, setModelId] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [previews, setPreviews] = useState<string[]>([]);
  const [json, setJson] = useState("");
  const [replication, setReplication] = useState("auto");
  const [priority, setPriority] = useState(0);
  const [objective, setObjective] = useState<Objective>("soonest");
  const [error, setError] = useState<string | null>(null);
  const submitJob = useMutation(trpc.operator.jobs.submit.mutationOptions());
  const model = models.data?.find((m) => m.id === modelId);

  useEffect(() => {
    if (!tenantId && tenants.data?.[0]) setTenantId(tenants.data[0].id);
  }, [tenantId, tenants.data]);
  useEffect(() => {
    if (!modelId && models.data?.[0]) setModelId(models.data[0].id);
  }, [modelId, models.data]);
  // A new tensor model starts from an input of its own shape.
  useEffect(() => {
    if (model?.takes === "tensor") setJson(exampleTensors(model));
  }, [model]);
  useEffect(() => {
    const urls = files.map((f) => URL.createObjectURL(f));
    setPreviews(urls);
    return () => urls.forEach((u) => URL.revokeObjectURL(u));
  }, [files]);

  async function submit() {
    setError(null);
    if (!tenantId) return setError("Tenant: choose one");
    if (!model) return setError("Model: choose one");
    let inputs: SubmitInput["inputs"];
    if (model.takes === "image") {
      if (!files.length) return setError("Images: choose at least one image");
      const big = files.find((f) => f.size > MAX_IMAGE_BYTES);
      if (big) return setError(`Images: ${big.name} is over ${MAX_IMAGE_BYTES / 1024 / 1024} MiB`);
      inputs = (await Promise.all(files.map(fileToBase64))).map((base64) => ({
        image: { base64 },
      }));
    } else {
      try {
        inputs = JSON.parse(json) as SubmitInput["inputs"];
      } catch (e) {
        return setError(`Inputs: not JSON (${String(e)})`);
      }
    }
    try {
      const { jobId } = await submitJob.mutateAsync({
        tenantId,
        modelId: model.id,
        inputs,
        priority,
        objective,
        replication: replication === "auto" ? "auto" : Number(replication),
      });
      router.push(`/jobs/${jobId}`);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }
  const busy = submitJob.isPending;

  return (
    <>
      <PageHeader
        title="Submit a job"
        description={
          <>
            <Link href="/jobs">Jobs</Link> / new — one task per input, submitted on the
            tenant&apos;s behalf and recorded in the audit log.
          </>
        }
      />
      <form
        className="card stack"
        style={{ maxWidth: 860 }}
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="form-grid">
          <label className="field">
            <span>Tenant</span>
            <select value={tenantId} onChange={(e) => setTenantId(e.target.value)} required>
              {tenants.data?.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              )) ?? <option value="">Loading…</option>}
            </select>
          </label>
          <label className="field" style={{ gridColumn: "span 2" }}>
            <span>Model</span>
            <select value={modelId} onChange={(e) => setModelId(e.target.value)} required>
              {models.data?.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.title} ({m.id}, takes {m.takes === "image" ? "images" : "tensors"})
                </option>
              )) ?? <option value="">Loading…</option>}
            </select>
          </label>
          <label className="field">
            <span>Replication</span>
            <select value={replication} onChange={(e) => setReplication(e.target.value)}>
              <option value="auto">Adaptive</option>
              {[1, 2, 3].map((n) => (
                <option key={n} value={n}>
                  {n}× per task
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Objective</span>
            <select value={objective} onChange={(e) => setObjective(e.target.value as Objective)}>
              {Object.entries(OBJECTIVE_NOTES).map(([o, note]) => (
                <option key={o} value={o} title={note}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Priority (0–9)</span>
            <input
              type="number"
              min={0}
              max={9}
              value={priority}
              onChange={(e) => setPriority(Number(e.target.value))}
            />
          </label>
        </div>
        {tenants.error ? (
          <ErrorState error={tenants.error} retry={() => void tenants.refetch()} />
        ) : null}
        {models.error ? (
          <ErrorState error={models.error} retry={() => void models.refetch()} />
        ) : null}
        {!model ? null : model.takes === "image" ? (
          <>
            <label className="field">
              <span>Images (one task each; PNG or JPEG, up to 8 MiB)</span>
              <input
                type="file"
                accept="image/png,image/jpeg"
                multiple
                onChange={(e) => setFiles([...(e.target.files ?? [])])}
              />
            </label>
            {previews.length ? (
              <div className="row">
                {previews.map((src, i) => (
                  <img
                    key={src}
                    src={src}
                    alt={`Selected image ${i + 1}`}
                    style={{ height: 96, borderRadius: 6, border: "1px solid var(--border)" }}
                  />
                ))}
              </div>
            ) : null}
          </>
        ) : (
          <label className="field">
            <span>Inputs: a JSON list, one object of named tensors per task</span>
            <small className="muted">
              {Object.entries((model.inputSpec ?? {}) as Record<string, { dims?: unknown }>)
                .map(([name, spec]) => `${name}: dims ${JSON.stringify(spec.dims)}`)
                .join("; ")}
            </small>
            <textarea
              className="mono"
              rows={6}
              value={json}
              onChange={(e) => setJson(e.target.value)}
            />
          </label>
        )}
        {error ? (
          <p className="alert error" role="alert" style={{ margin: 0 }}>
            {error}
          </p>
        ) : null}
        <div className="row">
          <button className="primary" type="submit" disabled={busy || !tenantId || !model}>
            {busy ? "Submitting…" : "Submit job"}
          </button>
        </div>
      </form>
    </>
  );
}
