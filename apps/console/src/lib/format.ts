// Number and time formatting for people: counts, shares, compute and times. Energy, power, money
// and carbon come from core's units module (@nightshift/units/format), which the CLI prints with too.

// Building an Intl formatter costs far more than using one, and live pages format thousands of
// figures and chart ticks a minute: each distinct set of options gets one formatter, kept.
const numberFormats = new Map<string, Intl.NumberFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();

function numberFormat(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = JSON.stringify(options);
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat("en-US", options);
    numberFormats.set(key, format);
  }
  return format;
}

function dateFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify(options);
  let format = dateFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-GB", options);
    dateFormats.set(key, format);
  }
  return format;
}

const DATE_TIME = dateFormat({
  day: "2-digit",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const CLOCK = dateFormat({ hour: "2-digit", minute: "2-digit" });
const CLOCK_SECONDS = dateFormat({ hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function int(n: number): string {
  return numberFormat({ maximumFractionDigits: 0 }).format(n);
}

/** A number with up to `digits` significant decimals, grouped. */
export function num(n: number, digits = 1): string {
  return numberFormat({ maximumFractionDigits: digits }).format(n);
}

/** A number to `digits` significant digits: 0.000123 stays readable, 1234.5 becomes 1,230. */
export function sig(n: number, digits = 3): string {
  return numberFormat({ maximumSignificantDigits: digits }).format(n);
}

export function pct(share: number, digits = 0): string {
  return `${(share * 100).toFixed(digits)}%`;
}

export function tops(t: number): string {
  if (t >= 1e6) return `${num(t / 1e6, 2)} POPS·10⁶`;
  if (t >= 1e3) return `${num(t / 1e3, 1)}k TOPS`;
  return `${num(t, 0)} TOPS`;
}

export function dateTime(iso: string | null): string {
  if (!iso) return "—";
  const ms = Date.parse(iso);
  // A formatter throws on an invalid date where toLocaleString said so.
  return Number.isNaN(ms) ? "Invalid Date" : DATE_TIME.format(ms);
}

export function clock(ms: number, seconds = false): string {
  if (!Number.isFinite(ms)) return "Invalid Date";
  return (seconds ? CLOCK_SECONDS : CLOCK).format(ms);
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
