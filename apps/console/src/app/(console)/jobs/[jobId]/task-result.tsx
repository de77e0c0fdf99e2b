"use client";
// One task's result for people: the input image with the detected text boxes drawn on it and
// the direction found, when the server interprets the output; else the numbers. Below it, the
// replicas that ran it and what verification decided.
import Link from "next/link";
import { useState } from "react";
import { Badge } from "~/components/ui";
import { num } from "~/lib/format";
import type { RouterOutputs } from "~/lib/trpc";
import {
  type Interpretation,
  inputImageOf,
  interpretationsOf,
  taskErrorOf,
  toPixels,
} from "../interpretation";
import { StatusBadge } from "../status";

interface Item {
  seq: number;
  taskId: string;
  status: string;
  output: number[] | null;
}

function ImageWithBoxes({
  sha256,
  interpretations,
  seq,
}: {
  sha256: string;
  interpretations: Interpretation[];
  seq: number;
}) {
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  const [failed, setFailed] = useState(false);
  const boxes = interpretations.flatMap((i) => (i.kind === "boxes" ? i.boxes : []));
  if (failed) return <p className="muted small">The input image could not be loaded.</p>;
  return (
    <figure style={{ margin: 0, position: "relative", display: "inline-block", maxWidth: "100%" }}>
      <img
        src={`/api/inputs/${sha256}`}
        alt={`Input image of task ${seq}${boxes.length ? `, with ${boxes.length} text boxes marked` : ""}`}
        style={{ maxWidth: "100%", maxHeight: 420, display: "block", borderRadius: 6 }}
        onLoad={(e) =>
          setSize({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })
        }
        onError={() => setFailed(true)}
      />
      {size && boxes.length ? (
        <svg
          viewBox={`0 0 ${size.w} ${size.h}`}
          preserveAspectRatio="none"
          style={{ position: "absolute", inset: 0, width: "100%", height: "100%" }}
          aria-hidden="true"
          data-testid="text-boxes"
        >
          {toPixels(boxes, size.w, size.h).map((b, k) => (
            <rect
              key={k}
              x={b.x}
              y={b.y}
              width={b.width}
              height={b.height}
              fill="none"
              stroke="#ff3b30"
              strokeWidth={Math.max(2, size.w / 300)}
            >
              {b.score !== undefined ? <title>{`score ${num(b.score, 2)}`}</title> : null}
            </rect>
          ))}
        </svg>
      ) : null}
    </figure>
  );
}

export type TaskDetail = RouterOutputs["operator"]["jobs"]["tasks"]["items"][number];

const VERDICT_TONES = { valid: "ok", invalid: "danger", pending: "warn", none: "muted" } as const;

function Replicas({ detail }: { detail: TaskDetail | null | undefined }) {
  if (detail === undefined) return <p className="muted small">Loading replicas…</p>;
  if (detail === null) return <p className="muted small">Replicas not loaded.</p>;
  const v = detail.verification;
  return (
    <div style={{ marginTop: "0.5rem" }} data-testid="replicas">
      <p className="small" style={{ margin: "0 0 0.25rem" }} data-testid="verification">
        {v
          ? `Verification: ${v.status} — ${v.agreeing} agreeing, ${v.disagreeing} disagreeing (${v.support} needed)`
          : detail.replicas.length === 0
            ? "Waiting for a car."
            : `Verification: awaiting ${detail.replicasRequired ?? "more"} ${detail.replicasRequired === 1 ? "replica" : "replicas"}`}
      </p>
      {detail.replicas.length ? (
        <table className="table small">
          <caption className="sr-only">Replicas of task {detail.seq}</caption>
          <thead>
            <tr>
              <th>Car</th>
              <th>Lease</th>
              <th>Verdict</th>
              <th className="num">Latency</th>
            </tr>
          </thead>
          <tbody>
            {detail.replicas.map((r) => (
              <tr key={r.leaseId}>
                <td>
                  <Link href={`/cars/${r.carId}`}>{r.carName}</Link>
                </td>
                <td>
                  {r.status}
                  {r.endReason && r.endReason !== r.status ? ` (${r.endReason})` : ""}
                </td>
                <td>
                  <Badge tone={VERDICT_TONES[r.verdict]}>{r.verdict}</Badge>
                </td>
                <td className="num">
                  {r.durationMs === null ? "—" : `${num(r.durationMs, 0)} ms`}
                  {r.backend ? <span className="muted"> {r.backend}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

export function TaskResult({
  item,
  detail,
}: {
  item: Item;
  /** The task's replicas and verification; undefined while loading. */
  detail?: TaskDetail | null;
}) {
  const interpretations = interpretationsOf(item);
  const sha = inputImageOf(item);
  const direction = interpretations.find((i) => i.kind === "direction");
  const boxes = interpretations.find((i) => i.kind === "boxes");
  const tensor = interpretations.find((i) => i.kind === "tensor");
  const error = taskErrorOf(item);
  const numbers =
    tensor?.kind === "tensor"
      ? { values: tensor.preview, total: tensor.values }
      : item.output
        ? { values: item.output.slice(0, 16), total: item.output.length }
        : null;
  return (
    <div className="card" style={{ padding: "0.75rem" }} data-testid="task-result">
      <div className="row" style={{ justifyContent: "space-between" }}>
        <strong>Task {item.seq}</strong>
        <StatusBadge status={item.status} />
      </div>
      {sha ? (
        <div style={{ marginTop: "0.5rem" }}>
          <ImageWithBoxes sha256={sha} interpretations={interpretations} seq={item.seq} />
        </div>
      ) : null}
      {direction && direction.kind === "direction" ? (
        <p style={{ margin: "0.5rem 0 0" }} data-testid="direction">
          Text direction:{" "}
          <strong>
            {direction.angle === 0
              ? "upright"
              : direction.angle === 180
                ? "upside down"
                : direction.label}
          </strong>{" "}
          ({direction.angle}°, {Math.round(direction.confidence * 100)}% confident)
        </p>
      ) : null}
      {boxes && boxes.kind === "boxes" ? (
        <p style={{ margin: "0.5rem 0 0" }}>
          {boxes.boxes.length} text {boxes.boxes.length === 1 ? "box" : "boxes"} detected
        </p>
      ) : null}
      {error ? (
        <p className="small" style={{ margin: "0.5rem 0 0", color: "var(--danger)" }}>
          {error}
        </p>
      ) : null}
      {!direction && !boxes ? (
        numbers ? (
          <p className="mono small" style={{ margin: "0.5rem 0 0", wordBreak: "break-all" }}>
            [{numbers.values.map((v) => num(v, 4)).join(", ")}
            {numbers.total > numbers.values.length
              ? `, … ${numbers.total - numbers.values.length} more`
              : ""}
            ]
          </p>
        ) : error ? null : (
          <p className="muted small" style={{ margin: "0.5rem 0 0" }}>
            {item.status === "failed"
              ? "No agreeing result: the task failed verification."
              : "No validated output yet."}
          </p>
        )
      ) : null}
      <Replicas detail={detail} />
    </div>
  );
}
