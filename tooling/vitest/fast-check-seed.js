// Property tests draw their cases from one fixed seed, so that a run of the suite passes or fails
// by the code alone: some properties also count how many of their cases did something (a guard
// against a property that holds because nothing happened), and a count from fresh random cases
// on each run is luck. To explore other cases, set FC_SEED; a failure prints the seed that found it.
const fc = await import("fast-check").catch(() => null);
if (fc) {
  const seed = process.env.FC_SEED === undefined ? 20_261_207 : Number(process.env.FC_SEED);
  if (!Number.isInteger(seed))
    throw new Error(`FC_SEED must be an integer, got ${process.env.FC_SEED}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
