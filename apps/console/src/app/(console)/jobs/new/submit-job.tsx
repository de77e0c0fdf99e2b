"use client";
// Submits a job as a tenant. The API takes jobs from tenants only (tenant.jobs.submit, with the
// tenant's API key), so the operator gives a key of the tenant the job is for; it is kept in this
// tab's session storage, never sent anywhere but this console's API route.
import { useQuery } from "@tanstack/react-query";
import { isTRPCClientError } from "@trpc/client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { PageHeader } from "~/components/ui";
import { createTenantClient, type RouterInputs, useTRPC } from "~/lib/trpc";

type SubmitInput = RouterInputs["tenant"]["jobs"]["submit"];

/** Models the demo server knows; any other id may be typed. */
const KNOWN_MODELS = ["ppocr-det", "ppocr-cls", "tiny-mlp"];
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
  const [tenantId, setTenantId] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [modelId, setModelId] = useState("ppocr-det");
  const [kind, setKind] = useState<"image" | "json">("image");
  const [files, setFiles] = useState<File[]>([]);
  const [previews, setPreviews] = useState<string[]>([]);
  const [json, setJson] = useState(
    '[{"x":{"dims":[1,16],"data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}}]',
  );
  const [replication, setReplication] = useState("auto");
  const [priority, setPriority] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!tenantId && tenants.data?.[0]) setTenantId(tenants.data[0].id);
  }, [tenantId, tenants.data]);
  useEffect(() => {
    setApiKey(tenantId ? (sessionStorage.getItem(`nightshift-key:${tenantId}`) ?? "") : "");
  }, [tenantId]);
  useEffect(() => {
    const urls = files.map((f) => URL.createObjectURL(f));
    setPreviews(urls);
    return () => urls.forEach((u) => URL.revokeObjectURL(u));
  }, [files]);

  async function submit() {
    setError(null);
    if (!apiKey.startsWith("nsk_")) return setError("API key: a tenant key starts with nsk_");
    let inputs: SubmitInput["inputs"];
    if (kind === "image") {
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
    setBusy(true);
    try {
      sessionStorage.setItem(`nightshift-key:${tenantId}`, apiKey);
      const { jobId } = await createTenantClient(apiKey).tenant.jobs.submit.mutate({
        modelId,
        inputs,
        priority,
        replication: replication === "auto" ? "auto" : Number(replication),
      });
      router.push(`/jobs/${jobId}`);
    } catch (e) {
      setError(isTRPCClientError(e) ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageHeader
        title="Submit a job"
        description={
          <>
            <Link href="/jobs">Jobs</Link> / new — one task per input, submitted with the
            tenant&apos;s API key.
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
            <span>Tenant API key</span>
            <input
              type="password"
              value={apiKey}
              onChange={(e) => setApiKey(e.target.value)}
              placeholder="nsk_…"
              autoComplete="off"
              required
            />
          </label>
          <label className="field">
            <span>Model</span>
            <input
              list="models"
              value={modelId}
              onChange={(e) => setModelId(e.target.value)}
              required
            />
            <datalist id="models">
              {KNOWN_MODELS.map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
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
        <fieldset className="row" style={{ border: 0, padding: 0, margin: 0 }}>
          <legend className="small muted" style={{ marginBottom: "0.25rem" }}>
            Inputs
          </legend>
          <label className="row small" style={{ gap: "0.3rem" }}>
            <input
              type="radio"
              name="kind"
              checked={kind === "image"}
              onChange={() => setKind("image")}
            />{" "}
            Images
          </label>
          <label className="row small" style={{ gap: "0.3rem" }}>
            <input
              type="radio"
              name="kind"
              checked={kind === "json"}
              onChange={() => setKind("json")}
            />{" "}
            Tensors (JSON)
          </label>
        </fieldset>
        {kind === "image" ? (
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
          <button className="primary" type="submit" disabled={busy || !tenantId}>
            {busy ? "Submitting…" : "Submit job"}
          </button>
        </div>
      </form>
    </>
  );
}
