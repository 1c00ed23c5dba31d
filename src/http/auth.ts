import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** One accepted set of headers: every header of the set must carry its value. */
export type Credential = Readonly<Record<string, string>>;

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Checks request headers against the accepted credentials. Values are compared as SHA-256 digests
 * in constant time, so neither a value's content nor its length leaks through timing; every set is
 * checked, so the time taken does not tell which set nearly matched.
 */
export function createAuthCheck(
  credentials: readonly Credential[],
): (headers: IncomingHttpHeaders) => boolean {
  const expected = credentials.map((set) =>
    Object.entries(set).map(([name, value]) => ({ name: name.toLowerCase(), digest: digest(value) })),
  );
  return (headers) => {
    let accepted = false;
    for (const set of expected) {
      let all = true;
      for (const { name, digest: want } of set) {
        const got = headers[name];
        const text = typeof got === 'string' ? got : '';
        if (!timingSafeEqual(digest(text), want) || text === '') all = false;
      }
      if (all) accepted = true;
    }
    return accepted;
  };
}
