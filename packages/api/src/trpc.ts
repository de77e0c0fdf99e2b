// tRPC's root: the error shape, the rate limit and who may call what.
import { initTRPC, TRPCError } from "@trpc/server";
import type { Caller, Context } from "./context";
import { databaseUnavailable, FieldError, isDatabaseUnavailable } from "./errors";
import { monotonicMs } from "./state";

/** One problem with the input: where (a dotted path, "" for the whole input) and what. */
export interface Issue {
  path: string;
  message: string;
}

/** "inputs[2].x.data[0]" from ["inputs", 2, "x", "data", 0]. */
export function formatPath(path: readonly unknown[]): string {
  return path
    .map((p) =>
      typeof p === "object" && p !== null && "key" in p ? (p as { key: unknown }).key : p,
    )
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}

/** The issues behind a BAD_REQUEST: zod's (or any standard schema's), or our own FieldError. */
function issuesOf(cause: unknown): Issue[] | null {
  if (cause instanceof FieldError) return [{ path: cause.field, message: cause.detail }];
  const raw = (cause as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(raw)) return null;
  return raw.map((issue: { path?: unknown[]; message?: string }) => ({
    path: formatPath(issue.path ?? []),
    message: issue.message ?? "invalid",
  }));
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const issues = error.code === "BAD_REQUEST" ? issuesOf(error.cause) : null;
    let message = shape.message;
    if (issues)
      message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
    // An unexpected error's message may quote SQL and its parameters: never send it out.
    if (error.code === "INTERNAL_SERVER_ERROR") message = "internal error";
    // No stack traces either: the server logs errors with its own onError.
    const { stack: _stack, ...data } = shape.data;
    return { ...shape, message, data: { ...data, issues } };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

type RateKind = "car" | "tenant" | "operator" | "anonymous";

/** The bucket of the call's credential; an anonymous call's is its client address's. */
function credentialBucket(ctx: Context): { key: string; kind: RateKind } {
  const c = ctx.caller;
  switch (c.kind) {
    case "car":
      return { key: `car:${c.carId}`, kind: "car" };
    case "tenant":
      return { key: `key:${c.keyId}`, kind: "tenant" };
    case "operator":
      return { key: `op:${c.operatorId}`, kind: "operator" };
    case "anonymous":
      return addressBucket(ctx);
  }
}

function addressBucket(ctx: Context): { key: string; kind: RateKind } {
  return { key: `ip:${ctx.ip ?? "unknown"}`, kind: "anonymous" };
}

/** A procedure whose every call takes a token from the bucket `bucketOf` names. */
function limitedBy(bucketOf: (ctx: Context) => { key: string; kind: RateKind }) {
  return t.procedure.use(async ({ ctx, next }) => {
    const { key, kind } = bucketOf(ctx);
    if (!ctx.state.limiter.take(key, ctx.deps.config.rateLimits[kind], monotonicMs())) {
      throw new TRPCError({
        code: "TOO_MANY_REQUESTS",
        message: `rate limit of ${kind} calls exceeded`,
      });
    }
    const result = await next();
    // A database that is away (restarting, unreachable) is the server's state, not a bug: 503,
    // which clients retry, instead of 500.
    if (!result.ok && isDatabaseUnavailable(result.error.cause)) {
      throw databaseUnavailable(result.error.cause);
    }
    return result;
  });
}

/** Every call takes a token from its credential's bucket (anonymous calls: the client IP's). */
export const publicProcedure = limitedBy(credentialBucket);

/**
 * Every call takes a token from the client address's bucket, whatever credential it carries:
 * enrolling makes a new identity, and a credential (a car's, a tenant's) is no licence to make
 * more of them than an address may.
 */
export const addressProcedure = limitedBy(addressBucket);

/** A second, stricter bucket for sign-in attempts, per client IP. */
export const limitSignIns = t.middleware(({ ctx, next }) => {
  if (
    !ctx.state.limiter.take(
      `signin:${ctx.ip ?? "unknown"}`,
      ctx.deps.config.rateLimits.signIn,
      monotonicMs(),
    )
  ) {
    throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: "too many sign-in attempts" });
  }
  return next();
});

type CallerOf<K extends Caller["kind"]> = Extract<Caller, { kind: K }>;

/** Only callers of one kind: anonymous → UNAUTHORIZED, another kind → FORBIDDEN. */
function only<K extends Exclude<Caller["kind"], "anonymous">>(kind: K) {
  return publicProcedure.use(({ ctx, next }) => {
    const caller = ctx.caller;
    if (caller.kind === "anonymous") {
      throw new TRPCError({ code: "UNAUTHORIZED", message: `needs a ${kind} credential` });
    }
    if (caller.kind !== kind) {
      throw new TRPCError({ code: "FORBIDDEN", message: `only a ${kind} may call this` });
    }
    return next({ ctx: { ...ctx, caller: caller as CallerOf<K> } });
  });
}

export const carProcedure = only("car");
export const tenantProcedure = only("tenant");
export const operatorProcedure = only("operator");
