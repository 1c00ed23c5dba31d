import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Passwords hashed with scrypt (Node's crypto), the parameters kept with the hash:
 * `scrypt$<N>$<r>$<p>$<salt>$<hash>` (salt and hash base64url). A hash made with other parameters
 * still verifies; new hashes use these.
 */
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
/** Room for N = 2^17 with r = 8 (128 · N · r bytes), beyond the default 32 MiB. */
const MAX_MEMORY = 256 * 1024 * 1024;

function derive(password: string, salt: Buffer, cost: ScryptOptions, length: number): Promise<Buffer> {
  return new Promise((done, fail) =>
    scrypt(password.normalize('NFC'), salt, length, { ...cost, maxmem: MAX_MEMORY }, (error, key) =>
      error ? fail(error) : done(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST, KEY_LENGTH);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when `password` is the one `stored` was made from; false for any malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (!Object.values(cost).every((value) => Number.isInteger(value) && value > 0)) return false;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length < 16) return false;
  try {
    const key = await derive(password, Buffer.from(salt, 'base64url'), cost, expected.length);
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

/** A hash no password matches, verified when the name is unknown so that both cases take as long. */
export const UNKNOWN_ACCOUNT_HASH = `scrypt$${COST.N}$${COST.r}$${COST.p}$${'A'.repeat(22)}$${'A'.repeat(43)}`;

/** A password printed once by the command line: 20 characters of base64url (120 bits). */
export function oneTimePassword(): string {
  return randomBytes(15).toString('base64url');
}

/** Shortest password a user may choose. */
export const MIN_PASSWORD_LENGTH = 12;
