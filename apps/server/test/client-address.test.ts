import { describe, expect, it } from "vitest";
import {
  type TrustedProxies,
  TrustedProxiesError,
  clientAddress,
  parseTrustedProxies,
} from "../src/client-address";

const req = (peer: string | undefined, xff?: string | string[]) => ({
  headers: xff === undefined ? {} : { "x-forwarded-for": xff },
  socket: { remoteAddress: peer } as never,
});

const trusting = (value: string): TrustedProxies => parseTrustedProxies(value);

describe("clientAddress, proxies trusted by count", () => {
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

  it("reads the same whether the count is given as a number or parsed from text", () => {
    expect(parseTrustedProxies("0")).toBe(0);
    expect(parseTrustedProxies(" 2 ")).toBe(2);
    expect(parseTrustedProxies("10")).toBe(10);
    expect(clientAddress(req("10.0.0.2", "203.0.113.7, 198.51.100.1"), trusting("2"))).toBe(
      "203.0.113.7",
    );
  });
});

describe("clientAddress, proxies trusted by address", () => {
  const proxies = trusting("127.0.0.1, 10.0.0.0/8, 2001:db8:1::/48");

  it("is the TCP peer when the peer is not a trusted proxy, whatever the header says", () => {
    expect(clientAddress(req("203.0.113.7"), proxies)).toBe("203.0.113.7");
    // A client that writes the header itself, even with a trusted proxy's address at its end,
    // does not choose its own key: its peer address is not trusted.
    expect(clientAddress(req("203.0.113.7", "6.6.6.6"), proxies)).toBe("203.0.113.7");
    expect(clientAddress(req("203.0.113.7", "6.6.6.6, 10.0.0.2"), proxies)).toBe("203.0.113.7");
    expect(clientAddress(req("203.0.113.7", "127.0.0.1"), proxies)).toBe("203.0.113.7");
  });

  it("walks the chain from the right past trusted proxies to the client", () => {
    // browser 203.0.113.7 → console 127.0.0.1 → server
    expect(clientAddress(req("127.0.0.1", "203.0.113.7"), proxies)).toBe("203.0.113.7");
    // browser → load balancer 10.1.2.3 → console 10.9.8.7 → server
    expect(clientAddress(req("10.9.8.7", "203.0.113.7, 10.1.2.3"), proxies)).toBe("203.0.113.7");
    // several copies of the header read as one list
    expect(clientAddress(req("10.9.8.7", ["203.0.113.7", "10.1.2.3"]), proxies)).toBe(
      "203.0.113.7",
    );
    // no header: the trusted peer made the call itself
    expect(clientAddress(req("127.0.0.1"), proxies)).toBe("127.0.0.1");
  });

  it("stops at the first untrusted address: what a client wrote at the left is never reached", () => {
    // The client 198.51.100.9 wrote two addresses; the console appended the one it saw.
    const forged = req("127.0.0.1", "6.6.6.6, 10.0.0.5, 198.51.100.9");
    expect(clientAddress(forged, proxies)).toBe("198.51.100.9");
    // Whatever it writes, its key stays its own.
    for (const written of ["1.1.1.1", "2.2.2.2, 3.3.3.3", "10.0.0.1", "::1", "not an address"]) {
      expect(clientAddress(req("127.0.0.1", `${written}, 198.51.100.9`), proxies)).toBe(
        "198.51.100.9",
      );
    }
    // A value that is not an address is never a trusted proxy: it is where the walk stops.
    expect(clientAddress(req("127.0.0.1", "unknown"), proxies)).toBe("unknown");
  });

  it("is the leftmost address when every address in the chain is trusted", () => {
    expect(clientAddress(req("127.0.0.1", "10.0.0.7, 10.0.0.8"), proxies)).toBe("10.0.0.7");
    expect(clientAddress(req("10.0.0.8", " , 10.0.0.7 ,"), proxies)).toBe("10.0.0.7");
  });

  it("believes no header without a peer to check it came through a proxy", () => {
    expect(clientAddress(req(undefined, "203.0.113.7"), proxies)).toBeUndefined();
  });

  it("matches IPv6 addresses and ranges", () => {
    expect(clientAddress(req("2001:db8:1:42::1", "2001:db8:ffff::9"), proxies)).toBe(
      "2001:db8:ffff::9",
    );
    expect(clientAddress(req("2001:db8:2::1", "2001:db8:ffff::9"), proxies)).toBe("2001:db8:2::1");
    // the same address written in full
    const full = trusting("2001:db8:0:0:0:0:0:1");
    expect(clientAddress(req("2001:db8::1", "203.0.113.7"), full)).toBe("203.0.113.7");
  });

  it("takes an IPv4-mapped IPv6 address as the IPv4 address it is, both ways", () => {
    // A server listening on :: sees IPv4 peers as ::ffff:a.b.c.d.
    expect(clientAddress(req("::ffff:127.0.0.1", "203.0.113.7"), proxies)).toBe("203.0.113.7");
    expect(clientAddress(req("::ffff:7f00:1", "203.0.113.7"), proxies)).toBe("203.0.113.7");
    expect(clientAddress(req("::ffff:10.20.30.40", "203.0.113.7"), proxies)).toBe("203.0.113.7");
    expect(clientAddress(req("::ffff:203.0.113.7", "6.6.6.6"), proxies)).toBe("::ffff:203.0.113.7");
    const mapped = trusting("::ffff:192.0.2.10");
    expect(clientAddress(req("192.0.2.10", "203.0.113.7"), mapped)).toBe("203.0.113.7");
  });

  it("reads `loopback` as 127.0.0.0/8 and ::1", () => {
    const loopback = trusting("loopback");
    for (const peer of ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"]) {
      expect(clientAddress(req(peer, "203.0.113.7"), loopback)).toBe("203.0.113.7");
    }
    for (const peer of ["128.0.0.1", "::2", "10.0.0.1"]) {
      expect(clientAddress(req(peer, "203.0.113.7"), loopback)).toBe(peer);
    }
    expect(clientAddress(req("::1", "203.0.113.7"), trusting("LOOPBACK, 10.0.0.0/8"))).toBe(
      "203.0.113.7",
    );
  });
});

describe("parseTrustedProxies", () => {
  it("keeps the list as written, for logs", () => {
    expect(String(trusting(" 127.0.0.1 ,10.0.0.0/8,, ::1 "))).toBe("127.0.0.1,10.0.0.0/8,::1");
  });

  it.each([
    ["11", "more than 10"],
    ["", "expected a number of proxies"],
    [" , ", "expected a number of proxies"],
    ["-1", '"-1" is not an address'],
    ["1.5", '"1.5" is not an address'],
    ["proxy.internal", '"proxy.internal" is not an address'],
    ["127.0.0.1, 10.0.0.256", '"10.0.0.256" is not an address'],
    ["[::1]", '"[::1]" is not an address'],
    ["10.0.0.0/33", '"10.0.0.0/33": the prefix length of an IPv4 range is 0-32'],
    ["10.0.0.0/", '"10.0.0.0/": the prefix length of an IPv4 range is 0-32'],
    ["10.0.0.0/8a", '"10.0.0.0/8a": the prefix length'],
    ["2001:db8::/129", '"2001:db8::/129": the prefix length of an IPv6 range is 0-128'],
  ])("refuses %j, saying why", (value, message) => {
    expect(() => parseTrustedProxies(value)).toThrow(TrustedProxiesError);
    expect(() => parseTrustedProxies(value)).toThrow(message);
  });
});
