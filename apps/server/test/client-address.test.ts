import { describe, expect, it } from "vitest";
import { clientAddress } from "../src/client-address";

const req = (peer: string | undefined, xff?: string | string[]) => ({
  headers: xff === undefined ? {} : { "x-forwarded-for": xff },
  socket: { remoteAddress: peer } as never,
});

describe("clientAddress", () => {
  it("is the TCP peer when no proxy is trusted, whatever the header says", () => {
    expect(clientAddress(req("10.0.0.9", "6.6.6.6"), 0)).toBe("10.0.0.9");
  });

  it("is the address the outermost trusted proxy saw", () => {
    // client 203.0.113.7 → load balancer 10.0.0.2 → server
    expect(clientAddress(req("10.0.0.2", "203.0.113.7"), 1)).toBe("203.0.113.7");
    // a client that forges the header only adds to the left of it
    expect(clientAddress(req("10.0.0.2", "6.6.6.6, 203.0.113.7"), 1)).toBe("203.0.113.7");
    // two proxies: CDN 198.51.100.1 → load balancer 10.0.0.2 → server
    expect(clientAddress(req("10.0.0.2", "203.0.113.7, 198.51.100.1"), 2)).toBe("203.0.113.7");
    expect(clientAddress(req("10.0.0.2", ["203.0.113.7", "198.51.100.1"]), 2)).toBe("203.0.113.7");
  });

  it("falls back to the first address of a chain shorter than the proxies trusted", () => {
    expect(clientAddress(req("192.0.2.5"), 1)).toBe("192.0.2.5");
    expect(clientAddress(req("10.0.0.2", " , 203.0.113.7 ,"), 3)).toBe("203.0.113.7");
    expect(clientAddress(req(undefined), 1)).toBeUndefined();
  });
});
