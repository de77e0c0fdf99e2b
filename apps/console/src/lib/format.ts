// Number and time formatting for people: units always shown, sensible precision.

const intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function int(n: number): string {
  return intFmt.format(n);
}

/** A number with up to `digits` significant decimals, grouped. */
export function num(n: number, digits = 1): string {
  return new Intl.NumberFormat("en-US", { maximumFractionDigits: digits }).format(n);
}

/** A number to `digits` significant digits: 0.000123 stays readable, 1234.5 becomes 1,230. */
export function sig(n: number, digits = 3): string {
  return new Intl.NumberFormat("en-US", { maximumSignificantDigits: digits }).format(n);
}

export function pct(share: number, digits = 0): string {
  return `${(share * 100).toFixed(digits)}%`;
}

/** Power in kW, switching to MW and GW as it grows. */
export function power(kw: number): string {
  if (Math.abs(kw) >= 1e6) return `${num(kw / 1e6, 2)} GW`;
  if (Math.abs(kw) >= 1e3) return `${num(kw / 1e3, 2)} MW`;
  return `${num(kw, 1)} kW`;
}

export function tops(t: number): string {
  if (t >= 1e6) return `${num(t / 1e6, 2)} POPS·10⁶`;
  if (t >= 1e3) return `${num(t / 1e3, 1)}k TOPS`;
  return `${num(t, 0)} TOPS`;
}

export function usd(n: number): string {
  // Fractions of a cent (one task's energy) keep two significant digits.
  if (n !== 0 && Math.abs(n) < 0.01) return `$${sig(n, 2)}`;
  const digits = Math.abs(n) < 1 ? 4 : 2;
  return `$${new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: digits }).format(n)}`;
}

export function kwh(n: number): string {
  if (Math.abs(n) >= 1e3) return `${num(n / 1e3, 2)} MWh`;
  if (n !== 0 && Math.abs(n) < 1) return `${sig(n, 3)} kWh`;
  return `${num(n, 2)} kWh`;
}

export function carbon(g: number): string {
  if (Math.abs(g) >= 1e6) return `${num(g / 1e6, 2)} t CO₂`;
  if (Math.abs(g) >= 1e3) return `${num(g / 1e3, 2)} kg CO₂`;
  if (g !== 0 && Math.abs(g) < 1) return `${sig(g, 3)} g CO₂`;
  return `${num(g, 1)} g CO₂`;
}

export function dateTime(iso: string | null): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("en-GB", {
    day: "2-digit",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

export function clock(ms: number, seconds = false): string {
  return new Date(ms).toLocaleTimeString("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    ...(seconds ? { second: "2-digit" } : {}),
  });
}

export function ago(iso: string | null, nowMs: number): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
