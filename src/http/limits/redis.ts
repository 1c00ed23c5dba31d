import { Redis } from 'ioredis';
import type { LimitCounters, LockoutSettings } from './counters.js';

// Each change is one script, run atomically by Redis: instances counting the same key at once
// never lose a count. Times come from the instance (`now`), so that windows line up across
// instances (they start at multiples of their length) and tests can move the clock.

/** KEYS[1] the window's key; ARGV: its length (ms). Answers the count. */
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

/**
 * KEYS[1] the address's block, KEYS[2] its window; ARGV: now, window length (ms), whether the block
 * applies. Answers { count (0 when blocked), ms blocked, whether failures are on record }.
 */
const ENTER = `
local entry = redis.call('HMGET', KEYS[1], 'count', 'until')
local failing = entry[1] and 1 or 0
local blocked = tonumber(entry[2]) or 0
local now = tonumber(ARGV[1])
if ARGV[3] == '1' and blocked > now then return {0, blocked - now, failing} end
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return {count, 0, failing}`;

/** KEYS[1] the address's key; ARGV: now, max, windowMs, blockMs, maxBlockMs. Answers the block (ms). */
const FAIL = `
local now = tonumber(ARGV[1])
local max, windowMs = tonumber(ARGV[2]), tonumber(ARGV[3])
local blockMs, maxBlockMs = tonumber(ARGV[4]), tonumber(ARGV[5])
local entry = redis.call('HMGET', KEYS[1], 'count', 'since', 'until')
local count, since, blocked = tonumber(entry[1]), tonumber(entry[2]), tonumber(entry[3])
if count == nil or (since + windowMs <= now and blocked <= now) then
  count, since, blocked = 0, now, 0
end
count = count + 1
local block = 0
if count >= max then
  block = math.min(maxBlockMs, blockMs * 2 ^ math.min(30, count - max))
  blocked = now + block
end
redis.call('HSET', KEYS[1], 'count', count, 'since', since, 'until', blocked)
redis.call('PEXPIRE', KEYS[1], math.max(windowMs, blocked - now) + 1000)
return block`;

/** The longest wait for a connection, at start or after Redis went away. */
const CONNECT_TIMEOUT_MS = 2000;

interface Scripts {
  callcardHit(key: string, windowMs: number): Promise<number>;
  callcardFail(key: string, ...args: number[]): Promise<number>;
  callcardEnter(block: string, window: string, ...args: number[]): Promise<[number, number, number]>;
}

export interface RedisCountersOptions {
  readonly url: string;
  readonly password?: string;
  /** Prefix of every key, so that several deployments can share one Redis. */
  readonly prefix: string;
  /** A command not answered by then fails (and the request is counted in memory instead). */
  readonly timeoutMs: number;
}

/** Counters in Redis, shared by every instance that uses the same server and prefix. */
export class RedisCounters implements LimitCounters {
  readonly #client: Redis & Scripts;
  readonly #prefix: string;
  readonly #connectTimeoutMs: number;

  constructor(options: RedisCountersOptions) {
    const client = new Redis(options.url, {
      ...(options.password !== undefined && { password: options.password }),
      // While Redis is away, commands fail at once rather than wait in a queue: a lookup must not.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs,
      connectTimeout: CONNECT_TIMEOUT_MS,
      lazyConnect: false,
    });
    // Connection errors are seen by each command, which falls back; the client keeps reconnecting.
    client.on('error', () => {});
    client.defineCommand('callcardHit', { numberOfKeys: 1, lua: HIT });
    client.defineCommand('callcardFail', { numberOfKeys: 1, lua: FAIL });
    client.defineCommand('callcardEnter', { numberOfKeys: 2, lua: ENTER });
    this.#client = client as Redis & Scripts;
    this.#prefix = options.prefix;
    this.#connectTimeoutMs = CONNECT_TIMEOUT_MS;
  }

  /** The key of `key`'s window at `now`, and the ms left in it. */
  #window(key: string, windowMs: number, now: number) {
    const start = Math.floor(now / windowMs) * windowMs;
    return { window: `${this.#prefix}w:${key}:${start}`, resetMs: start + windowMs - now };
  }

  /**
   * Waits for the first connection, at most the connect timeout: answers whether Redis is there.
   * Until it is, requests are counted in this instance.
   */
  async connected(): Promise<boolean> {
    const client = this.#client;
    if (client.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ready: boolean) => {
        client.off('ready', onReady);
        client.off('error', onError);
        clearTimeout(timer);
        resolve(ready);
      };
      const onReady = () => done(true);
      const onError = () => done(false);
      const timer = setTimeout(() => done(false), this.#connectTimeoutMs);
      client.on('ready', onReady);
      client.on('error', onError);
    });
  }

  async hit(key: string, windowMs: number, now: number) {
    const { window, resetMs } = this.#window(key, windowMs, now);
    return { count: Number(await this.#client.callcardHit(window, windowMs)), resetMs };
  }

  async enter(address: string, windowMs: number, lockout: boolean, now: number) {
    const { window, resetMs } = this.#window(address, windowMs, now);
    const [count, blockedMs, failing] = await this.#client.callcardEnter(
      `${this.#prefix}b:${address}`,
      window,
      now,
      windowMs,
      lockout ? 1 : 0,
    );
    return { blockedMs: Number(blockedMs), count: Number(count), resetMs, failing: failing === 1 };
  }

  async fail(key: string, settings: LockoutSettings, now: number) {
    const { max, windowMs, blockMs, maxBlockMs } = settings;
    return Number(
      await this.#client.callcardFail(`${this.#prefix}b:${key}`, now, max, windowMs, blockMs, maxBlockMs),
    );
  }

  async clear(key: string) {
    await this.#client.del(`${this.#prefix}b:${key}`);
  }

  async close() {
    this.#client.disconnect();
  }
}
