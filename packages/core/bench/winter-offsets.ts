// The default scenario's zones in January, on standard time: the offsets the CLI works out for
// its default start date. Core has no time-zone database to ask, so the benchmarks give them as
// data, as every caller of core does.
import { fixedOffset, type OffsetTable } from "../src/local-time";

const H = 3600;

export const WINTER_OFFSETS: Readonly<Record<string, OffsetTable>> = {
  "America/Los_Angeles": fixedOffset(-8 * H),
  "America/Chicago": fixedOffset(-6 * H),
  "Europe/Stockholm": fixedOffset(1 * H),
};
