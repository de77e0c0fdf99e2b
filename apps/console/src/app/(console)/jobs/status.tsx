import { Badge } from "~/components/ui";

const TONES = {
  queued: "muted",
  running: "warn",
  completed: "ok",
  cancelled: "muted",
  failed: "danger",
  open: "muted",
  verifying: "warn",
  valid: "ok",
} as const;

export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={TONES[status as keyof typeof TONES] ?? "muted"}>{status}</Badge>;
}
