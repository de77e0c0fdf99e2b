// Tenants: their own jobs only, the models they may run, and what they hold in storage.
import { z } from "zod";
import {
  cancelJob,
  getJob,
  jobResults,
  listJobs,
  submitJob,
  ZCancelOutput,
  ZJob,
  ZJobRef,
  ZJobResultsInput,
  ZJobResultsOutput,
  ZListJobsInput,
  ZListJobsOutput,
  ZSubmitJobInput,
  ZSubmitJobOutput,
} from "../services/jobs";
import { listModels, ZModelView } from "../services/history";
import { inputStorageOf, ZInputStorage } from "../services/input-storage";
import { router, tenantProcedure } from "../trpc";

export const tenantRouter = router({
  /** The models a job may name, and what each takes. */
  models: router({
    list: tenantProcedure.output(z.array(ZModelView)).query(({ ctx }) => listModels(ctx.deps)),
  }),
  /** The input images it holds, in bytes, and its quota (an operator sets it). */
  storage: router({
    get: tenantProcedure
      .output(ZInputStorage)
      .query(({ ctx }) => inputStorageOf(ctx.deps, ctx.caller.tenantId)),
  }),
  jobs: router({
    submit: tenantProcedure
      .input(ZSubmitJobInput)
      .output(ZSubmitJobOutput)
      .mutation(({ ctx, input }) => submitJob(ctx.deps, ctx.state, ctx.caller.tenantId, input)),
    get: tenantProcedure
      .input(ZJobRef)
      .output(ZJob)
      .query(({ ctx, input }) => getJob(ctx.deps, ctx.caller.tenantId, input.jobId)),
    list: tenantProcedure
      .input(ZListJobsInput)
      .output(ZListJobsOutput)
      .query(({ ctx, input }) => listJobs(ctx.deps, ctx.caller.tenantId, input)),
    results: tenantProcedure
      .input(ZJobResultsInput)
      .output(ZJobResultsOutput)
      .query(({ ctx, input }) => jobResults(ctx.deps, ctx.caller.tenantId, input)),
    cancel: tenantProcedure
      .input(ZJobRef)
      .output(ZCancelOutput)
      .mutation(({ ctx, input }) =>
        cancelJob(ctx.deps, { kind: "tenant", tenantId: ctx.caller.tenantId }, input.jobId),
      ),
  }),
});
