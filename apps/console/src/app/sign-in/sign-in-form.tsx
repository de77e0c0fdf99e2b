"use client";
import { useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";

export function SignInForm() {
  const router = useRouter();
  const expired = useSearchParams().get("expired") === "1";
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="card stack"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        setBusy(true);
        setError(null);
        try {
          const res = await fetch("/api/session", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
          });
          if (!res.ok) {
            const body = (await res.json().catch(() => null)) as {
              error?: { message?: string };
            } | null;
            setError(body?.error?.message ?? `sign-in failed (HTTP ${res.status})`);
            return;
          }
          router.replace("/fleet");
          router.refresh();
        } catch (err) {
          setError(String(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <div className="brand" style={{ padding: 0 }}>
        <span className="brand-mark" aria-hidden="true" />
        Nightshift console
      </div>
      <h1>Operator sign-in</h1>
      <p className="muted" style={{ margin: 0 }}>
        The demo operator&apos;s email and password are printed when the server first starts.
      </p>
      {expired ? <p className="alert">Your session has ended. Sign in again.</p> : null}
      <label className="field">
        <span>Email</span>
        <input
          name="email"
          type="email"
          autoComplete="username"
          required
          defaultValue="operator@nightshift.local"
        />
      </label>
      <label className="field">
        <span>Password</span>
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {error ? (
        <p className="alert error" role="alert" style={{ margin: 0 }}>
          {error}
        </p>
      ) : null}
      <button className="primary" type="submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
