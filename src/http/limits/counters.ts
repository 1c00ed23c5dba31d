/** How wrong tokens from one address are slowed down. */
export interface LockoutSettings {
  /** Wrong tokens within `windowMs` before the address is blocked. */
  readonly max: number;
  readonly windowMs: number;
  /** First block; each further wrong token doubles it, up to `maxBlockMs`. */
  readonly blockMs: number;
  readonly maxBlockMs: number;
}

/**
 * Where the limits count: in this process (`memory.ts`), or in Redis (`redis.ts`) so that every
 * instance behind a balancer counts the same requests. Keys name the tenant and what is counted.
 */
export interface LimitCounters {
  /**
   * A request from `address`: unless `lockout` is false (an allowlisted address), its block first
   * (nothing is counted while it is blocked); then one request counted in its window. `failing`
   * tells whether wrong tokens from it are on record (a right one then clears them).
   */
  enter(
    address: string,
    windowMs: number,
    lockout: boolean,
    now: number,
  ): Promise<{
    readonly blockedMs: number;
    readonly count: number;
    readonly resetMs: number;
    readonly failing: boolean;
  }>;
  /** Counts one request of `key` in its window of `windowMs`: the count so far and the ms left in the window. */
  hit(
    key: string,
    windowMs: number,
    now: number,
  ): Promise<{ readonly count: number; readonly resetMs: number }>;
  /** One failure of `key`: the block (ms) it now has, 0 while under the limit. */
  fail(key: string, settings: LockoutSettings, now: number): Promise<number>;
  /** A success: `key` starts again from nothing. */
  clear(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The block after `count` failures (the first one at `max`), doubled at each further one. */
export const blockFor = (count: number, settings: LockoutSettings) =>
  count < settings.max
    ? 0
    : Math.min(settings.maxBlockMs, settings.blockMs * 2 ** Math.min(30, count - settings.max));
