import { describe, expect, it } from "vitest";
import { TrustedProxyAddresses } from "../src/client-address";
import { EnvError, parseServerEnv } from "../src/env";

describe("parseServerEnv", () => {
  it("has defaults for everything, and treats empty variables as unset", () => {
    const env = parseServerEnv({ DATABASE_URL: "", NIGHTSHIFT_PORT: "" });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.NIGHTSHIFT_PORT).toBe(8787);
    expect(env.NIGHTSHIFT_HOST).toBe("127.0.0.1");
    expect(env.LOG_LEVEL).toBe("info");
    // Unset: /metrics answers callers on this host only.
    expect(env.NIGHTSHIFT_METRICS_TOKEN).toBeUndefined();
    expect(env.NIGHTSHIFT_CORS_ORIGINS).toContain("http://localhost:3000");
    // Unset, not 0: the one-command demo chooses its own default then.
    expect(env.NIGHTSHIFT_TRUSTED_PROXIES).toBeUndefined();
    expect(parseServerEnv({ NIGHTSHIFT_TRUSTED_PROXIES: "" }).NIGHTSHIFT_TRUSTED_PROXIES).toBe(
      undefined,
    );
  });

  it("reads trusted proxies as a count or as addresses", () => {
    const byCount = parseServerEnv({ NIGHTSHIFT_TRUSTED_PROXIES: "2" });
    expect(byCount.NIGHTSHIFT_TRUSTED_PROXIES).toBe(2);
    const byAddress = parseServerEnv({
      NIGHTSHIFT_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8, ::1",
    }).NIGHTSHIFT_TRUSTED_PROXIES;
    expect(byAddress).toBeInstanceOf(TrustedProxyAddresses);
    const addresses = byAddress as TrustedProxyAddresses;
    expect(addresses.has("10.200.3.4")).toBe(true);
    expect(addresses.has("::1")).toBe(true);
    expect(addresses.has("192.0.2.1")).toBe(false);
  });

  it("reads the values it is given", () => {
    const env = parseServerEnv({
      DATABASE_URL: "postgres://u:p@db:5432/nightshift",
      NIGHTSHIFT_PORT: "0",
      NIGHTSHIFT_CORS_ORIGINS: " https://console.example.com , http://127.0.0.1:5173 ",
      NIGHTSHIFT_SWEEP_INTERVAL_S: "0.5",
      LOG_LEVEL: "debug",
      NIGHTSHIFT_METRICS_TOKEN: "0123456789abcdef0123",
    });
    expect(env.DATABASE_URL).toBe("postgres://u:p@db:5432/nightshift");
    expect(env.NIGHTSHIFT_PORT).toBe(0);
    expect(env.NIGHTSHIFT_CORS_ORIGINS).toEqual([
      "https://console.example.com",
      "http://127.0.0.1:5173",
    ]);
    expect(env.NIGHTSHIFT_SWEEP_INTERVAL_S).toBe(0.5);
    expect(env.LOG_LEVEL).toBe("debug");
    expect(env.NIGHTSHIFT_METRICS_TOKEN).toBe("0123456789abcdef0123");
  });

  it.each([
    [{ NIGHTSHIFT_PORT: "65536" }, "NIGHTSHIFT_PORT"],
    [{ NIGHTSHIFT_PORT: "http" }, "NIGHTSHIFT_PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ NIGHTSHIFT_CORS_ORIGINS: "https://console.example.com/path" }, "NIGHTSHIFT_CORS_ORIGINS"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ NIGHTSHIFT_TRUSTED_PROXIES: "11" }, "NIGHTSHIFT_TRUSTED_PROXIES: 11 proxies"],
    [{ NIGHTSHIFT_TRUSTED_PROXIES: "10.0.0.0/8, lb" }, 'NIGHTSHIFT_TRUSTED_PROXIES: "lb"'],
    [{ NIGHTSHIFT_TRUSTED_PROXIES: "10.0.0.0/40" }, 'NIGHTSHIFT_TRUSTED_PROXIES: "10.0.0.0/40"'],
    [{ NIGHTSHIFT_METRICS_TOKEN: "short" }, "NIGHTSHIFT_METRICS_TOKEN: at least 16"],
    [
      { NIGHTSHIFT_METRICS_TOKEN: "a token with spaces in it" },
      "NIGHTSHIFT_METRICS_TOKEN: no spaces",
    ],
  ])("rejects %j naming the variable", (source, name) => {
    expect(() => parseServerEnv(source)).toThrow(EnvError);
    expect(() => parseServerEnv(source)).toThrow(name);
  });
});
