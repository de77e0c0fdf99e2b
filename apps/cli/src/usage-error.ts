/** A mistake in how the CLI was called (a flag's value, a scenario file): exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly exitCode = 2;
}
