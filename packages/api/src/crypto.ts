// Credentials. Tokens are 32 random bytes behind a prefix that says what they are, so a request
// is resolved with one lookup; only their sha256 is stored (random 256-bit secrets need no slow
// hash). Operators' passwords are people's choices, so they get scrypt.
import {
  createHash,
  createHmac,
  randomBytes,
  scrypt,
  timingSafeEqual,
  type ScryptOptions,
} from "node:crypto";

export type TokenKind = "car" | "tenant" | "operator";

export const TOKEN_PREFIX: Readonly<Record<TokenKind, string>> = {
  car: "nsc_",
  tenant: "nsk_",
  operator: "nso_",
};

export function newToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + randomBytes(32).toString("base64url");
}

export function tokenKind(token: string): TokenKind | null {
  for (const kind of Object.keys(TOKEN_PREFIX) as TokenKind[]) {
    if (token.startsWith(TOKEN_PREFIX[kind])) return kind;
  }
  return null;
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

// OWASP's password storage cheat sheet (2024): scrypt with N=2^17, r=8, p=1. 128 × N × r bytes
// = 128 MiB of memory per hash; maxmem must allow it. ~0.7 s per hash on a 2-core CI machine.
export const SCRYPT_COST = { N: 2 ** 17, r: 8, p: 1 };
const KEY_LEN = 64;

function scryptAsync(
  password: string,
  salt: Buffer,
  keyLen: number,
  opts: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * "scrypt$N$r$p$salt$hash" (base64url), so parameters can change without breaking old hashes.
 * `cost` is for tests, which may trade strength for speed.
 */
export async function hashPassword(password: string, cost = SCRYPT_COST): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = cost;
  const key = await scryptAsync(password, salt, KEY_LEN, { N, r, p, maxmem: 256 * N * r });
  return ["scrypt", N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const N = Number(n);
  if (!(N >= 2 && N <= 2 ** 20 && expected.length === KEY_LEN)) return false;
  const key = await scryptAsync(password, Buffer.from(salt, "base64url"), expected.length, {
    N,
    r: Number(r),
    p: Number(p),
    maxmem: 256 * N * Number(r),
  });
  return timingSafeEqual(key, expected);
}

/** A password for a generated operator: 18 random bytes, base64url. */
export function newPassword(): string {
  return randomBytes(18).toString("base64url");
}

/**
 * The seed of one of the server's draws (core's createRng), from what is being decided, keyed:
 * HMAC-SHA256 over the parts under the config's drawSecret. The same parts under the same key
 * give the same draws (a decision replays); without the key a car cannot tell what a draw over
 * its own ids will give (whether a task is spot-checked, whether a call brings a canary).
 */
export function drawSeed(secret: string, ...parts: readonly string[]): number {
  const mac = createHmac("sha256", secret);
  for (const part of parts) mac.update(part).update("\u0000");
  return mac.digest().readInt32LE(0);
}
