import { LRUCache } from 'lru-cache';
import { blockFor, type LimitCounters, type LockoutSettings } from './counters.js';

/** Keys kept at most, so a flood of addresses cannot grow memory without bound. */
const MAX_KEYS = 50_000;

/**
 * Counters in this process: fixed windows that start at a key's first request. Each instance
 * counts apart; `limits.redis` shares them.
 */
export class MemoryCounters implements LimitCounters {
  readonly #windows = new LRUCache<string, { count: number; endsAt: number }>({ max: MAX_KEYS });
  readonly #failures = new LRUCache<string, { count: number; since: number; blockedUntil: number }>({
    max: MAX_KEYS,
  });

  async hit(key: string, windowMs: number, now: number) {
    let window = this.#windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + windowMs };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetMs: window.endsAt - now };
  }

  async enter(address: string, windowMs: number, lockout: boolean, now: number) {
    const entry = this.#failures.get(address);
    const failing = entry !== undefined;
    if (lockout && entry && entry.blockedUntil > now) {
      return { blockedMs: entry.blockedUntil - now, count: 0, resetMs: 0, failing };
    }
    return { blockedMs: 0, ...(await this.hit(address, windowMs, now)), failing };
  }

  async fail(key: string, settings: LockoutSettings, now: number) {
    let entry = this.#failures.get(key);
    if (!entry || (entry.since + settings.windowMs <= now && entry.blockedUntil <= now)) {
      entry = { count: 0, since: now, blockedUntil: 0 };
      this.#failures.set(key, entry);
    }
    entry.count += 1;
    const block = blockFor(entry.count, settings);
    if (block > 0) entry.blockedUntil = now + block;
    return block;
  }

  async clear(key: string) {
    this.#failures.delete(key);
  }

  async close() {}
}
