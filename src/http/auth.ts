import * as crypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** One accepted set of headers: every header of the set must carry its value. */
export type Credential = Readonly<Record<string, string>>;

/** One-shot `crypto.hash` (Node 20.12+; less than half the cost of a Hash object per request). */
const oneShot: typeof crypto.hash | undefined = crypto.hash;
const digest = oneShot
  ? (value: string) => oneShot('sha256', value, 'buffer')
  : (value: string) => createHash('sha256').update(value).digest();

interface Expected {
  /** Names the set in rate limits, without holding its value. */
  readonly id: string;
  readonly headers: readonly { readonly name: string; readonly digest: Buffer }[];
}

/**
 * Checks request headers against the accepted credentials. Values are compared as SHA-256 digests
 * in constant time, so neither a value's content nor its length leaks through timing; every set is
 * checked, so the time taken does not tell which set nearly matched. The accepted sets can be
 * replaced while serving (a token file changed), for rotation without a restart.
 */
export class Authenticator {
  #expected: readonly Expected[] = [];

  constructor(credentials: readonly Credential[]) {
    this.update(credentials);
  }

  update(credentials: readonly Credential[]): void {
    this.#expected = credentials.map((set) => {
      const headers = Object.entries(set).map(([name, value]) => ({
        name: name.toLowerCase(),
        digest: digest(value),
      }));
      const id = createHash('sha256')
        .update(headers.map((header) => `${header.name}:${header.digest.toString('hex')}`).join('\n'))
        .digest('hex')
        .slice(0, 16);
      return { id, headers };
    });
  }

  /** The id of the set the headers match, or undefined. */
  check(headers: IncomingHttpHeaders): string | undefined {
    let accepted: string | undefined;
    for (const set of this.#expected) {
      let all = true;
      for (const { name, digest: want } of set.headers) {
        const got = headers[name];
        const text = typeof got === 'string' ? got : '';
        if (!timingSafeEqual(digest(text), want) || text === '') all = false;
      }
      if (all) accepted ??= set.id;
    }
    return accepted;
  }
}

/**
 * `Authorization: Bearer <token>`, the scheme in any case (RFC 9110 §11.1), the token compared as
 * the other credentials are.
 */
export function bearerCheck(token: string): (headers: IncomingHttpHeaders) => boolean {
  const expected = new Authenticator([{ authorization: token }]);
  return (headers) => {
    const given = /^bearer +([^\s]+) *$/i.exec(headers.authorization ?? '')?.[1] ?? '';
    return expected.check({ authorization: given }) !== undefined;
  };
}
