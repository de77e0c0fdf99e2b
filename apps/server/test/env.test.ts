import { describe, expect, it } from "vitest";
import { EnvError, parseServerEnv } from "../src/env";

describe("parseServerEnv", () => {
  it("has defaults for everything, and treats empty variables as unset", () => {
    const env = parseServerEnv({ DATABASE_URL: "", NIGHTSHIFT_PORT: "" });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.NIGHTSHIFT_PORT).toBe(8787);
    expect(env.NIGHTSHIFT_HOST).toBe("127.0.0.1");
    expect(env.LOG_LEVEL).toBe("info");
    expect(env.NIGHTSHIFT_CORS_ORIGINS).toContain("http://localhost:3000");
  });

  it("reads the values it is given", () => {
    const env = parseServerEnv({
      DATABASE_URL: "postgres://u:p@db:5432/nightshift",
      NIGHTSHIFT_PORT: "0",
      NIGHTSHIFT_CORS_ORIGINS: " https://console.example.com , http://127.0.0.1:5173 ",
      NIGHTSHIFT_SWEEP_INTERVAL_S: "0.5",
      LOG_LEVEL: "debug",
    });
    expect(env.DATABASE_URL).toBe("postgres://u:p@db:5432/nightshift");
    expect(env.NIGHTSHIFT_PORT).toBe(0);
    expect(env.NIGHTSHIFT_CORS_ORIGINS).toEqual([
      "https://console.example.com",
      "http://127.0.0.1:5173",
    ]);
    expect(env.NIGHTSHIFT_SWEEP_INTERVAL_S).toBe(0.5);
    expect(env.LOG_LEVEL).toBe("debug");
  });

  it.each([
    [{ NIGHTSHIFT_PORT: "65536" }, "NIGHTSHIFT_PORT"],
    [{ NIGHTSHIFT_PORT: "http" }, "NIGHTSHIFT_PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ NIGHTSHIFT_CORS_ORIGINS: "https://console.example.com/path" }, "NIGHTSHIFT_CORS_ORIGINS"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
  ])("rejects %j naming the variable", (source, name) => {
    expect(() => parseServerEnv(source)).toThrow(EnvError);
    expect(() => parseServerEnv(source)).toThrow(name);
  });
});
