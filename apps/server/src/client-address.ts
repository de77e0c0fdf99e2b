// The address per-IP limits key on. Without proxies in front, the TCP peer. Behind proxies that
// each append the address they received from to X-Forwarded-For (load balancers do, and so does
// the console), the client is found from the right of the chain, because a client can put
// anything it likes at the left of the header. The proxies are trusted either by count (how many
// stand in front) or by address (which ones they are, as nginx's set_real_ip_from with
// real_ip_recursive and Express's `trust proxy` take them).
import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";

/** The largest count of proxies taken: more than any real chain, and a typo's guard. */
export const MAX_TRUSTED_PROXY_COUNT = 10;

/** Proxies trusted by where they are: single addresses and CIDR ranges, IPv4 and IPv6. */
export class TrustedProxyAddresses {
  readonly #list: BlockList;
  /** As it was written, for logs. */
  readonly #source: string;

  constructor(list: BlockList, source: string) {
    this.#list = list;
    this.#source = source;
  }

  /**
   * Whether `address` is one of them. An IPv4 address also matches in its IPv4-mapped IPv6 form
   * (`::ffff:127.0.0.1`, what a dual-stack socket reports) and the other way round: BlockList
   * compares the two forms as one address.
   */
  has(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    try {
      return this.#list.check(address, family === 4 ? "ipv4" : "ipv6");
    } catch {
      // An address isIP accepts but BlockList does not (an IPv6 zone, `fe80::1%eth0`).
      return false;
    }
  }

  toString(): string {
    return this.#source;
  }
}

/** A count of proxies in front (0: none, the TCP peer is the client), or which ones they are. */
export type TrustedProxies = number | TrustedProxyAddresses;

/** 127.0.0.0/8 and ::1: a proxy on the same host, e.g. the console in the one-command demo. */
const LOOPBACK = "loopback";

export class TrustedProxiesError extends Error {
  override name = "TrustedProxiesError";
}

const FORMS =
  `a number of proxies (0-${MAX_TRUSTED_PROXY_COUNT}), or a comma-separated list of ` +
  `addresses, CIDR ranges and "${LOOPBACK}" such as 127.0.0.1,10.0.0.0/8,::1`;

/**
 * `"1"`: one proxy in front. `"127.0.0.1, 10.0.0.0/8, ::1"` or `"loopback"`: the proxies at those
 * addresses. Throws TrustedProxiesError naming the entry that is neither.
 */
export function parseTrustedProxies(value: string): TrustedProxies {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const count = Number(text);
    if (count > MAX_TRUSTED_PROXY_COUNT) {
      throw new TrustedProxiesError(`${count} proxies is more than ${MAX_TRUSTED_PROXY_COUNT}`);
    }
    return count;
  }
  const entries = text
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (entries.length === 0) throw new TrustedProxiesError(`expected ${FORMS}`);
  const list = new BlockList();
  for (const entry of entries) addEntry(list, entry);
  return new TrustedProxyAddresses(list, entries.join(","));
}

function addLoopback(list: BlockList): void {
  list.addSubnet("127.0.0.0", 8, "ipv4");
  list.addAddress("::1", "ipv6");
}

const LOOPBACK_ADDRESSES = (() => {
  const list = new BlockList();
  addLoopback(list);
  return new TrustedProxyAddresses(list, LOOPBACK);
})();

/** Whether `address` is on this host: 127.0.0.0/8 or ::1, also as `::ffff:127.0.0.1`. */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK_ADDRESSES.has(address);
}

function addEntry(list: BlockList, entry: string): void {
  if (entry.toLowerCase() === LOOPBACK) {
    addLoopback(list);
    return;
  }
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) {
    throw new TrustedProxiesError(
      `"${entry}" is not an address, a CIDR range or "${LOOPBACK}" (expected ${FORMS})`,
    );
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  if (slash < 0) {
    list.addAddress(address, type);
    return;
  }
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixText = entry.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d+$/.test(prefixText) || prefix > maxPrefix) {
    throw new TrustedProxiesError(
      `"${entry}": the prefix length of an IPv${family} range is 0-${maxPrefix}`,
    );
  }
  list.addSubnet(address, prefix, type);
}

/**
 * The client's address. The chain is X-Forwarded-For's addresses followed by the TCP peer.
 *
 * - A count N: the address N places from the chain's end, or the chain's first when it is
 *   shorter than that (a request that came around the proxies); 0: the peer, header ignored.
 * - Addresses: walking the chain from its end, the first address that is not a trusted proxy;
 *   the chain's first when every address in it is trusted. A peer that is not trusted is the
 *   client whatever the header says.
 */
export function clientAddress(
  req: Pick<IncomingMessage, "headers" | "socket">,
  trustedProxies: TrustedProxies,
): string | undefined {
  const peer = req.socket?.remoteAddress;
  if (typeof trustedProxies === "number") {
    if (trustedProxies <= 0) return peer;
    const chain = peer === undefined ? forwardedFor(req) : [...forwardedFor(req), peer];
    if (chain.length === 0) return undefined;
    return chain[Math.max(0, chain.length - 1 - trustedProxies)];
  }
  // Without the peer nothing says the header came through a trusted proxy.
  if (peer === undefined) return undefined;
  if (!trustedProxies.has(peer)) return peer;
  const listed = forwardedFor(req);
  for (let i = listed.length - 1; i >= 0; i--) {
    if (!trustedProxies.has(listed[i]!)) return listed[i];
  }
  return listed[0] ?? peer;
}

/** X-Forwarded-For's addresses, left to right, over every copy of the header. */
function forwardedFor(req: Pick<IncomingMessage, "headers">): string[] {
  const header = req.headers["x-forwarded-for"];
  return (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
}
