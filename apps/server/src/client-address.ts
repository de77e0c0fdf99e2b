// The address per-IP limits key on. Without proxies in front, the TCP peer. Behind proxies that
// each append the address they received from to X-Forwarded-For (load balancers do), the client
// is the address the outermost trusted proxy saw: counted from the right, because a client can
// put anything it likes at the left of the header.
import type { IncomingMessage } from "node:http";

/**
 * `trustedProxies`: how many proxies stand between the internet and this server (0: none). The
 * chain is X-Forwarded-For's addresses followed by the TCP peer; the client is the one
 * `trustedProxies` places from its end, or the chain's first when it is shorter than that (a
 * request that came around the proxies).
 */
export function clientAddress(
  req: Pick<IncomingMessage, "headers" | "socket">,
  trustedProxies: number,
): string | undefined {
  const peer = req.socket?.remoteAddress;
  if (trustedProxies <= 0) return peer;
  const header = req.headers["x-forwarded-for"];
  const listed = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  const chain = peer === undefined ? listed : [...listed, peer];
  if (chain.length === 0) return undefined;
  return chain[Math.max(0, chain.length - 1 - trustedProxies)];
}
