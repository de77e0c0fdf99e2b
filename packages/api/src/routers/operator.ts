// Operators: sign in, watch and steer the fleet. Every mutation writes an audit event.
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import {
  carHistory,
  carTasks,
  fleetSeries,
  jobTasks,
  listModels,
  ZCarHistory,
  ZCarPageInput,
  ZCarTasks,
  ZFleetSeries,
  ZFleetSeriesInput,
  ZJobTasks,
  ZJobTasksInput,
  ZModelView,
} from "../services/history";
import { listAudit, ZAuditListInput, ZAuditListOutput } from "../services/audit";
import { signIn, signOut, ZSignInInput, ZSignInOutput } from "../services/auth";
import {
  createEnrollmentCode,
  listEnrollmentCodes,
  revokeEnrollmentCode,
  ZCreateCodeInput,
  ZCreateCodeOutput,
  ZListCodesInput,
  ZListCodesOutput,
  ZRevokeCodeInput,
  ZRevokeCodeOutput,
} from "../services/enroll";
import {
  carRows,
  fleetSummary,
  watchedSummary,
  getCar,
  listCars,
  revokeCar,
  setQuarantine,
  ZCarDetail,
  ZCarRef,
  ZCarRowsInput,
  ZCarRowsOutput,
  ZFleetSummary,
  ZListCarsInput,
  ZListCarsOutput,
  ZQuarantineInput,
  ZQuarantineOutput,
  ZRevokeOutput,
} from "../services/fleet";
import {
  cancelJob,
  getJob,
  jobResults,
  listJobs,
  ZCancelOutput,
  ZJob,
  ZJobRef,
  ZJobResultsInput,
  ZJobResultsOutput,
  ZListJobsInput,
  ZListJobsOutput,
  submitJobFor,
  ZOperatorSubmitJobInput,
  ZSubmitJobOutput,
} from "../services/jobs";
import { ledgerSummary, ZLedgerSummaryInput, ZLedgerSummaryOutput } from "../services/ledger";
import {
  createRegion,
  listRegions,
  setDrained,
  updateRegion,
  ZCreateRegionInput,
  ZRegionRef,
  ZRegionView,
  ZUpdateRegionInput,
} from "../services/regions";
import {
  createKey,
  createTenant,
  listKeys,
  listTenants,
  revokeKey,
  updateTenant,
  ZCreateTenantInput,
  ZCreateTenantOutput,
  ZKeysOutput,
  ZNewKey,
  ZRevokeKeyInput,
  ZTenant,
  ZTenantRef,
  ZUpdateTenantInput,
} from "../services/tenants";
import { limitSignIns, operatorProcedure, publicProcedure, router } from "../trpc";

const ZWatchInput = z
  .object({ intervalMs: z.number().int().min(250).max(60_000).default(1000) })
  .strict();

/** Sleeps, or returns false when the subscriber went away. */
async function tick(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

export const operatorRouter = router({
  auth: router({
    signIn: publicProcedure
      .use(limitSignIns)
      .input(ZSignInInput)
      .output(ZSignInOutput)
      .mutation(({ ctx, input }) => signIn(ctx.deps, input)),
    signOut: operatorProcedure
      .output(z.object({ signedOut: z.boolean() }))
      .mutation(async ({ ctx }) => {
        await signOut(ctx.deps, ctx.caller.operatorId, ctx.caller.sessionHash);
        ctx.state.forgetCallers();
        return { signedOut: true };
      }),
  }),
  fleet: router({
    summary: operatorProcedure
      .output(ZFleetSummary)
      .query(({ ctx }) => fleetSummary(ctx.deps, ctx.state)),
    /** The fleet minute by minute (the whole fleet as region "*", and each region). */
    series: operatorProcedure
      .input(ZFleetSeriesInput)
      .output(ZFleetSeries)
      .query(({ ctx, input }) => fleetSeries(ctx.deps, input)),
    /**
     * The fleet summary every `intervalMs`, over SSE, until the subscriber leaves. Figures are
     * computed at most once a second per instance and shared by its subscribers.
     */
    watch: operatorProcedure.input(ZWatchInput).subscription(async function* ({
      ctx,
      input,
      signal,
    }) {
      do {
        yield await watchedSummary(ctx.deps, ctx.state);
      } while (await tick(input.intervalMs, signal));
    }),
  }),
  cars: router({
    list: operatorProcedure
      .input(ZListCarsInput)
      .output(ZListCarsOutput)
      .query(({ ctx, input }) => listCars(ctx.deps, input)),
    /** The named cars as they are now, in the list's row shape (a table's rows, refreshed). */
    rows: operatorProcedure
      .input(ZCarRowsInput)
      .output(ZCarRowsOutput)
      .query(({ ctx, input }) => carRows(ctx.deps, input)),
    get: operatorProcedure
      .input(ZCarRef)
      .output(ZCarDetail)
      .query(({ ctx, input }) => getCar(ctx.deps, ctx.state, input.carId)),
    quarantine: operatorProcedure
      .input(ZQuarantineInput)
      .output(ZQuarantineOutput)
      .mutation(({ ctx, input }) => setQuarantine(ctx.deps, ctx.caller.operatorId, input, true)),
    release: operatorProcedure
      .input(ZQuarantineInput)
      .output(ZQuarantineOutput)
      .mutation(({ ctx, input }) => setQuarantine(ctx.deps, ctx.caller.operatorId, input, false)),
    /** The car's changes of state, newest first. */
    history: operatorProcedure
      .input(ZCarPageInput)
      .output(ZCarHistory)
      .query(({ ctx, input }) => carHistory(ctx.deps, input)),
    /** The work given to the car, newest first, with what came of each lease. */
    tasks: operatorProcedure
      .input(ZCarPageInput)
      .output(ZCarTasks)
      .query(({ ctx, input }) => carTasks(ctx.deps, input)),
    /**
     * Revokes the car's credential for good; its leases end at once. Other instances stop
     * accepting it within their auth cache's lifetime (ApiConfig.authCacheS).
     */
    revoke: operatorProcedure
      .input(ZQuarantineInput)
      .output(ZRevokeOutput)
      .mutation(async ({ ctx, input }) => {
        const out = await revokeCar(ctx.deps, ctx.caller.operatorId, input);
        ctx.state.forgetCallers();
        return out;
      }),
  }),
  enrollmentCodes: router({
    /** The code is shown once; its id (for list and revoke) is not a secret. */
    create: operatorProcedure
      .input(ZCreateCodeInput)
      .output(ZCreateCodeOutput)
      .mutation(({ ctx, input }) => createEnrollmentCode(ctx.deps, ctx.caller.operatorId, input)),
    list: operatorProcedure
      .input(ZListCodesInput)
      .output(ZListCodesOutput)
      .query(({ ctx, input }) => listEnrollmentCodes(ctx.deps, input)),
    /** The code enrolls no more cars; the cars it enrolled stay. */
    revoke: operatorProcedure
      .input(ZRevokeCodeInput)
      .output(ZRevokeCodeOutput)
      .mutation(({ ctx, input }) => revokeEnrollmentCode(ctx.deps, ctx.caller.operatorId, input)),
  }),
  jobs: router({
    list: operatorProcedure
      .input(ZListJobsInput)
      .output(ZListJobsOutput)
      .query(({ ctx, input }) => listJobs(ctx.deps, null, input)),
    get: operatorProcedure
      .input(ZJobRef)
      .output(ZJob)
      .query(({ ctx, input }) => getJob(ctx.deps, null, input.jobId)),
    results: operatorProcedure
      .input(ZJobResultsInput)
      .output(ZJobResultsOutput)
      .query(({ ctx, input }) => jobResults(ctx.deps, null, input)),
    /** The job's tasks, each with every replica (lease) and the verification's outcome. */
    tasks: operatorProcedure
      .input(ZJobTasksInput)
      .output(ZJobTasks)
      .query(({ ctx, input }) => jobTasks(ctx.deps, input)),
    /** A job submitted on a tenant's behalf (audited). */
    submit: operatorProcedure
      .input(ZOperatorSubmitJobInput)
      .output(ZSubmitJobOutput)
      .mutation(({ ctx, input }) =>
        submitJobFor(ctx.deps, ctx.state, ctx.caller.operatorId, input),
      ),
    cancel: operatorProcedure
      .input(ZJobRef)
      .output(ZCancelOutput)
      .mutation(({ ctx, input }) =>
        cancelJob(ctx.deps, { kind: "operator", operatorId: ctx.caller.operatorId }, input.jobId),
      ),
    /** A job's progress on every change (polled each `intervalMs`), until it finishes. */
    watch: operatorProcedure
      .input(ZJobRef.extend(ZWatchInput.shape))
      .subscription(async function* ({ ctx, input, signal }) {
        let last = "";
        do {
          const job = await getJob(ctx.deps, null, input.jobId);
          const key = `${job.status}/${job.tasksValidated}/${job.tasksFailed}`;
          if (key !== last) yield job;
          last = key;
          if (job.status !== "queued" && job.status !== "running") return;
        } while (await tick(input.intervalMs, signal));
      }),
  }),
  tenants: router({
    list: operatorProcedure
      .output(z.array(ZTenant))
      .query(({ ctx }) => listTenants(ctx.deps.db, ctx.deps.config)),
    create: operatorProcedure
      .input(ZCreateTenantInput)
      .output(ZCreateTenantOutput)
      .mutation(({ ctx, input }) =>
        createTenant(ctx.deps, ctx.state, ctx.caller.operatorId, input),
      ),
    update: operatorProcedure
      .input(ZUpdateTenantInput)
      .output(ZTenant)
      .mutation(({ ctx, input }) =>
        updateTenant(ctx.deps, ctx.state, ctx.caller.operatorId, input),
      ),
    keys: operatorProcedure
      .input(ZTenantRef)
      .output(ZKeysOutput)
      .query(({ ctx, input }) => listKeys(ctx.deps, input.tenantId)),
    createKey: operatorProcedure
      .input(ZTenantRef)
      .output(ZNewKey)
      .mutation(({ ctx, input }) => createKey(ctx.deps, ctx.caller.operatorId, input.tenantId)),
    revokeKey: operatorProcedure
      .input(ZRevokeKeyInput)
      .output(z.object({ revoked: z.boolean() }))
      .mutation(({ ctx, input }) =>
        revokeKey(ctx.deps, ctx.state, ctx.caller.operatorId, input.keyId),
      ),
  }),
  regions: router({
    list: operatorProcedure.output(z.array(ZRegionView)).query(({ ctx }) => listRegions(ctx.deps)),
    create: operatorProcedure
      .input(ZCreateRegionInput)
      .output(ZRegionView)
      .mutation(({ ctx, input }) =>
        createRegion(ctx.deps, ctx.state, ctx.caller.operatorId, input),
      ),
    update: operatorProcedure
      .input(ZUpdateRegionInput)
      .output(ZRegionView)
      .mutation(({ ctx, input }) =>
        updateRegion(ctx.deps, ctx.state, ctx.caller.operatorId, input),
      ),
    drain: operatorProcedure
      .input(ZRegionRef)
      .output(ZRegionView)
      .mutation(({ ctx, input }) =>
        setDrained(ctx.deps, ctx.state, ctx.caller.operatorId, input.id, true),
      ),
    undrain: operatorProcedure
      .input(ZRegionRef)
      .output(ZRegionView)
      .mutation(({ ctx, input }) =>
        setDrained(ctx.deps, ctx.state, ctx.caller.operatorId, input.id, false),
      ),
  }),
  ledger: router({
    summary: operatorProcedure
      .input(ZLedgerSummaryInput)
      .output(ZLedgerSummaryOutput)
      .query(({ ctx, input }) => ledgerSummary(ctx.deps, input)),
  }),
  models: router({
    list: operatorProcedure.output(z.array(ZModelView)).query(({ ctx }) => listModels(ctx.deps)),
  }),
  audit: router({
    list: operatorProcedure
      .input(ZAuditListInput)
      .output(ZAuditListOutput)
      .query(({ ctx, input }) => listAudit(ctx.deps, input)),
  }),
});
