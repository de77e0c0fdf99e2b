// Cars: the clock, enroll, heartbeat, lease, renew, submit, fail, release.
import { enroll, ZEnrollInput, ZEnrollOutput } from "../services/enroll";
import {
  carSelf,
  heartbeat,
  setPolicy,
  ZCarSelf,
  ZHeartbeatInput,
  ZHeartbeatOutput,
  ZSetPolicyInput,
} from "../services/heartbeat";
import {
  lease,
  release,
  renew,
  ZLeaseInput,
  ZLeaseOutput,
  ZReleaseOutput,
  ZRenewInput,
  ZRenewOutput,
} from "../services/lease";
import {
  submit,
  submitMany,
  ZSubmitInput,
  ZSubmitManyInput,
  ZSubmitManyOutput,
  ZSubmitOutput,
} from "../services/submit";
import { clock, ZClockOutput } from "../services/clock";
import { failLease, ZFailInput, ZFailOutput } from "../services/fail";
import { addressProcedure, carProcedure, publicProcedure, router } from "../trpc";

export const nodeRouter = router({
  /** The clock the server schedules on: cars run their days at its speed (1: real time). */
  clock: publicProcedure.output(ZClockOutput).query(({ ctx }) => clock(ctx.deps)),
  /** Limited per client address, whatever credential the call carries. */
  enroll: addressProcedure
    .input(ZEnrollInput)
    .output(ZEnrollOutput)
    .mutation(({ ctx, input }) => enroll(ctx.deps, input)),
  heartbeat: carProcedure
    .input(ZHeartbeatInput)
    .output(ZHeartbeatOutput)
    .mutation(({ ctx, input }) => heartbeat(ctx.deps, ctx.caller.carId, input)),
  lease: carProcedure
    .input(ZLeaseInput)
    .output(ZLeaseOutput)
    .mutation(({ ctx, input }) => lease(ctx.deps, ctx.state, ctx.caller.carId, input)),
  renew: carProcedure
    .input(ZRenewInput)
    .output(ZRenewOutput)
    .mutation(({ ctx, input }) => renew(ctx.deps, ctx.caller.carId, input)),
  submit: carProcedure
    .input(ZSubmitInput)
    .output(ZSubmitOutput)
    .mutation(({ ctx, input }) => submit(ctx.deps, ctx.state, ctx.caller.carId, input)),
  /** Several results in one call and one transaction: the answers come in the same order. */
  submitMany: carProcedure
    .input(ZSubmitManyInput)
    .output(ZSubmitManyOutput)
    .mutation(({ ctx, input }) => submitMany(ctx.deps, ctx.state, ctx.caller.carId, input)),
  /** The car could not run a lease (bad input, model integrity, engine error): it goes elsewhere. */
  fail: carProcedure
    .input(ZFailInput)
    .output(ZFailOutput)
    .mutation(({ ctx, input }) => failLease(ctx.deps, ctx.caller.carId, input)),
  /** The car as its owner sees it: limits, reputation, earnings. */
  me: carProcedure.output(ZCarSelf).query(({ ctx }) => carSelf(ctx.deps, ctx.caller.carId)),
  /** The owner's limits: opt-in, allowed hours, reserve and departure charge. */
  setPolicy: carProcedure
    .input(ZSetPolicyInput)
    .output(ZCarSelf)
    .mutation(({ ctx, input }) => setPolicy(ctx.deps, ctx.caller.carId, input)),
  release: carProcedure
    .output(ZReleaseOutput)
    .mutation(({ ctx }) => release(ctx.deps, ctx.caller.carId)),
});
