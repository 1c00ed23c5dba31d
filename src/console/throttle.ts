import { LRUCache } from 'lru-cache';

/**
 * Sign-in throttling, per account name and per client address: after `max` failed sign-ins within
 * `windowMs` of the first, that name (or address) is refused without its password being checked,
 * until the window ends. Counted in this instance's memory, bounded in size.
 */
export interface SignInThrottle {
  /** Milliseconds to wait before this name or address may try again; 0 when it may now. */
  wait(account: string, address: string, now: number): number;
  failed(account: string, address: string, now: number): void;
  /** A good sign-in clears the name's count (not the address's: it may be guessing other names). */
  succeeded(account: string): void;
}

export interface ThrottleOptions {
  readonly perAccount: number;
  readonly perAddress: number;
  readonly windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { perAccount: 5, perAddress: 20, windowMs: 15 * 60_000 };

interface Count {
  first: number;
  failures: number;
}

export function createSignInThrottle(options: ThrottleOptions = DEFAULT_THROTTLE): SignInThrottle {
  const counts = new LRUCache<string, Count>({ max: 10_000 });
  const keyOf = {
    account: (name: string) => `n:${name.toLowerCase()}`,
    address: (address: string) => `a:${address}`,
  };
  const current = (key: string, now: number): Count | undefined => {
    const count = counts.get(key);
    if (count && now - count.first >= options.windowMs) {
      counts.delete(key);
      return undefined;
    }
    return count;
  };
  const waitFor = (key: string, max: number, now: number) => {
    const count = current(key, now);
    return count && count.failures >= max ? count.first + options.windowMs - now : 0;
  };
  const add = (key: string, now: number) => {
    const count = current(key, now);
    if (count) count.failures++;
    else counts.set(key, { first: now, failures: 1 });
  };
  return {
    wait(account, address, now) {
      return Math.max(
        waitFor(keyOf.account(account), options.perAccount, now),
        waitFor(keyOf.address(address), options.perAddress, now),
      );
    },
    failed(account, address, now) {
      add(keyOf.account(account), now);
      add(keyOf.address(address), now);
    },
    succeeded(account) {
      counts.delete(keyOf.account(account));
    },
  };
}
