import { LRUCache } from 'lru-cache';

/** Whether a request may go on, and if not, in how many seconds it may come back. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

const OK: Verdict = { ok: true };
const wait = (ms: number): Verdict => ({ ok: false, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) });

/** Keys kept at most, so a flood of addresses cannot grow memory without bound. */
const MAX_KEYS = 50_000;

/**
 * Requests per key in fixed windows. Written here rather than taken from a rate-limit plugin
 * because one request passes two limits (its address, then its token) and wrong tokens lock an
 * address out: the plugin applies one limit per request.
 */
export class RateLimit {
  readonly #windows: LRUCache<string, { count: number; endsAt: number }>;

  constructor(
    readonly max: number,
    readonly windowMs: number,
    readonly now: () => number = Date.now,
  ) {
    this.#windows = new LRUCache({ max: MAX_KEYS });
  }

  /** Counts one request of `key`. */
  take(key: string): Verdict {
    const now = this.now();
    let window = this.#windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + this.windowMs };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return window.count > this.max ? wait(window.endsAt - now) : OK;
  }
}

export interface LockoutSettings {
  /** Wrong tokens within `windowMs` before the address is blocked. */
  readonly max: number;
  readonly windowMs: number;
  /** First block; each further wrong token doubles it, up to `maxBlockMs`. */
  readonly blockMs: number;
  readonly maxBlockMs: number;
}

/** Wrong tokens by address: past `max`, the address waits longer at each further try. */
export class Lockout {
  readonly #failures: LRUCache<string, { count: number; since: number; blockedUntil: number }>;

  constructor(
    readonly settings: LockoutSettings,
    readonly now: () => number = Date.now,
  ) {
    this.#failures = new LRUCache({ max: MAX_KEYS });
  }

  /** Whether the address may try now. */
  check(key: string): Verdict {
    const entry = this.#failures.get(key);
    const now = this.now();
    return entry && entry.blockedUntil > now ? wait(entry.blockedUntil - now) : OK;
  }

  /** One wrong token from the address; returns the wait it now has. */
  fail(key: string): Verdict {
    const { max, windowMs, blockMs, maxBlockMs } = this.settings;
    const now = this.now();
    let entry = this.#failures.get(key);
    if (!entry || (entry.since + windowMs <= now && entry.blockedUntil <= now)) {
      entry = { count: 0, since: now, blockedUntil: 0 };
      this.#failures.set(key, entry);
    }
    entry.count += 1;
    if (entry.count < max) return OK;
    const block = Math.min(maxBlockMs, blockMs * 2 ** Math.min(30, entry.count - max));
    entry.blockedUntil = now + block;
    return wait(block);
  }

  /** A right token: the address starts again from nothing. */
  succeed(key: string): void {
    this.#failures.delete(key);
  }
}
