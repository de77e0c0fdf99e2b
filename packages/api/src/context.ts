// Who is calling. A request's `Authorization: Bearer <token>` resolves to a car (its
// credential), a tenant (an API key), an operator (a session token) or nobody. Tokens carry
// their kind in a prefix, so one indexed lookup of the token's sha256 resolves a request.
import type { Db } from "@nightshift/db/client";
import { cars, operatorSessions, operators, tenantKeys, tenants } from "@nightshift/db/schema";
import { and, eq, gt, isNull } from "drizzle-orm";
import type { ApiConfig } from "./config";
import { databaseUnavailable, isDatabaseUnavailable } from "./errors";
import { sha256Hex, tokenKind } from "./crypto";
import { type ApiState, monotonicMs, stateOf } from "./state";

export interface ApiDeps {
  db: Db;
  /** The clock: every lease expiry, heartbeat age and price is read against it. */
  now: () => Date;
  config: ApiConfig;
}

export type Caller =
  | { kind: "car"; carId: string; ownerId: string; regionId: string }
  | { kind: "tenant"; tenantId: string; keyId: string }
  | {
      kind: "operator";
      operatorId: string;
      email: string;
      /** sha256 of the session token. */ sessionHash: string;
    }
  | { kind: "anonymous" };

export interface Context {
  deps: ApiDeps;
  state: ApiState;
  caller: Caller;
  /** The client's address, for anonymous rate limits; null when the server did not say. */
  ip: string | null;
}

export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

export interface ContextOptions {
  headers: HeaderSource;
  ip?: string;
}

/** Most credentials one instance keeps resolved at once. */
const MAX_CACHED_CALLERS = 100_000;

export function createContextFactory(deps: ApiDeps): (opts: ContextOptions) => Promise<Context> {
  const state = stateOf(deps);
  return async ({ headers, ip }) => {
    const token = bearerToken(headers);
    let caller: Caller;
    const hash = token === null ? null : sha256Hex(token);
    const hit = hash === null ? undefined : state.callers.get(hash);
    const nowMs = monotonicMs();
    if (hit && hit.untilMs > nowMs) {
      caller = hit.caller;
    } else {
      try {
        caller = await resolveCaller(deps.db, token, deps.now());
      } catch (error) {
        if (isDatabaseUnavailable(error)) throw databaseUnavailable(error);
        throw error;
      }
      if (hash !== null && caller.kind !== "anonymous") {
        if (state.callers.size >= MAX_CACHED_CALLERS) state.callers.clear();
        state.callers.set(hash, { caller, untilMs: nowMs + deps.config.authCacheS * 1000 });
      }
    }
    return { deps, state, caller, ip: ip ?? null };
  };
}

export function bearerToken(headers: HeaderSource): string | null {
  let value: string | string[] | null | undefined;
  if (typeof (headers as Headers).get === "function")
    value = (headers as Headers).get("authorization");
  else value = (headers as Record<string, string | string[] | undefined>)["authorization"];
  if (Array.isArray(value)) value = value[0];
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(value ?? "");
  return match?.[1] ?? null;
}

/** A token that matches nothing (unknown, revoked, expired) is anonymous. */
export async function resolveCaller(db: Db, token: string | null, now: Date): Promise<Caller> {
  if (token === null) return { kind: "anonymous" };
  const kind = tokenKind(token);
  if (kind === null) return { kind: "anonymous" };
  const hash = sha256Hex(token);
  switch (kind) {
    case "car": {
      const [car] = await db
        .select({ id: cars.id, ownerId: cars.ownerId, regionId: cars.regionId })
        .from(cars)
        .where(and(eq(cars.credentialHash, hash), isNull(cars.revokedAt)));
      return car
        ? { kind: "car", carId: car.id, ownerId: car.ownerId, regionId: car.regionId }
        : { kind: "anonymous" };
    }
    case "tenant": {
      const [key] = await db
        .select({ id: tenantKeys.id, tenantId: tenantKeys.tenantId })
        .from(tenantKeys)
        .innerJoin(tenants, eq(tenants.id, tenantKeys.tenantId))
        .where(and(eq(tenantKeys.keyHash, hash), isNull(tenantKeys.revokedAt)));
      return key
        ? { kind: "tenant", tenantId: key.tenantId, keyId: key.id }
        : { kind: "anonymous" };
    }
    case "operator": {
      const [session] = await db
        .select({ operatorId: operatorSessions.operatorId, email: operators.email })
        .from(operatorSessions)
        .innerJoin(operators, eq(operators.id, operatorSessions.operatorId))
        .where(and(eq(operatorSessions.tokenHash, hash), gt(operatorSessions.expiresAt, now)));
      return session ? { kind: "operator", ...session, sessionHash: hash } : { kind: "anonymous" };
    }
  }
}
