"use client";
// The frame around every page: the left navigation (a top bar at tablet widths), the theme
// toggle and sign-out.
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { type ReactNode, useEffect, useState } from "react";
import { FleetFeedProvider, LiveIndicator } from "./fleet-feed";

const LINKS = [
  { href: "/fleet", label: "Fleet" },
  { href: "/cars", label: "Cars" },
  { href: "/jobs", label: "Jobs" },
  { href: "/tenants", label: "Tenants" },
  { href: "/energy", label: "Energy & money" },
  { href: "/planner", label: "Capacity planner" },
  { href: "/controls", label: "Controls & audit" },
];

function ThemeToggle() {
  const [theme, setTheme] = useState<"light" | "dark" | null>(null);
  useEffect(() => {
    const set = document.documentElement.dataset.theme;
    setTheme(
      set === "light" || set === "dark"
        ? set
        : matchMedia("(prefers-color-scheme: dark)").matches
          ? "dark"
          : "light",
    );
  }, []);
  if (theme === null) return null;
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      onClick={() => {
        document.documentElement.dataset.theme = next;
        localStorage.setItem("nightshift-theme", next);
        setTheme(next);
      }}
    >
      {next === "dark" ? "Dark theme" : "Light theme"}
    </button>
  );
}

export function Shell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const router = useRouter();
  return (
    <FleetFeedProvider>
      <div className="shell">
        <nav className="nav" aria-label="Console">
          <div className="brand">
            <span className="brand-mark" aria-hidden="true" />
            Nightshift
          </div>
          {LINKS.map((l) => (
            <Link
              key={l.href}
              href={l.href}
              aria-current={
                pathname === l.href || pathname.startsWith(`${l.href}/`) ? "page" : undefined
              }
            >
              {l.label}
            </Link>
          ))}
          <div className="nav-foot">
            <LiveIndicator />
            <ThemeToggle />
            <button
              type="button"
              onClick={async () => {
                await fetch("/api/session", { method: "DELETE" });
                router.replace("/sign-in");
                router.refresh();
              }}
            >
              Sign out
            </button>
          </div>
        </nav>
        <main className="main">{children}</main>
      </div>
    </FleetFeedProvider>
  );
}
