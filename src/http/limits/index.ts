import type { Logger } from 'pino';
import type { Tenant } from '../../config/schema.js';
import { readOptionalSecret } from '../../config/secret-fields.js';
import type { LimitCounters, LockoutSettings } from './counters.js';
import { MemoryCounters } from './memory.js';

export type { LimitCounters, LockoutSettings } from './counters.js';
export { MemoryCounters } from './memory.js';

/** Settings of `limits.redis`, with the password read. */
export interface SharedLimitsSettings {
  readonly url: string;
  readonly password?: string;
  readonly prefix: string;
  readonly timeoutMs: number;
}

/**
 * Counters shared by every instance (Redis), or this process's own when none is configured. A
 * shared store that fails (down, slow past its timeout) never fails a request: the request is
 * counted in this process instead, and `onError` is told (the limits then hold per instance).
 */
export async function openCounters(
  shared: SharedLimitsSettings | undefined,
  onError: (error: Error) => void,
): Promise<LimitCounters> {
  if (!shared) return new MemoryCounters();
  // The Redis client loads only when limits are shared.
  const { RedisCounters } = await import('./redis.js');
  const redis = new RedisCounters(shared);
  if (!(await redis.connected())) onError(new Error(`cannot connect to ${redactedUrl(shared.url)}`));
  return new FallbackCounters(redis, new MemoryCounters(), onError);
}

/** The URL without its password, for messages. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'Redis';
  }
}

class FallbackCounters implements LimitCounters {
  constructor(
    readonly shared: LimitCounters,
    readonly local: LimitCounters,
    readonly onError: (error: Error) => void,
  ) {}

  async #either<T>(use: (counters: LimitCounters) => Promise<T>): Promise<T> {
    try {
      return await use(this.shared);
    } catch (error) {
      this.onError(error as Error);
      return use(this.local);
    }
  }

  hit(key: string, windowMs: number, now: number) {
    return this.#either((counters) => counters.hit(key, windowMs, now));
  }

  enter(address: string, windowMs: number, lockout: boolean, now: number) {
    return this.#either((counters) => counters.enter(address, windowMs, lockout, now));
  }

  fail(key: string, settings: LockoutSettings, now: number) {
    return this.#either((counters) => counters.fail(key, settings, now));
  }

  async clear(key: string) {
    await Promise.all([this.#either((counters) => counters.clear(key)), this.local.clear(key)]);
  }

  async close() {
    await Promise.all([this.shared.close(), this.local.close()]);
  }
}

/** The counters of each tenant: one Redis client per distinct `limits.redis`, one memory for the rest. */
export interface TenantCounters {
  of(tenant: Pick<Tenant, 'name' | 'limits'>): LimitCounters;
  close(): Promise<void>;
}

/** Opens the counters the tenants' `limits` ask for; a shared store's failures are logged, once a minute at most. */
export async function openTenantCounters(
  tenants: readonly Readonly<Tenant>[],
  logger: Pick<Logger, 'warn'>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TenantCounters> {
  const memory = new MemoryCounters();
  const bySettings = new Map<string, LimitCounters>();
  const byTenant = new Map<string, LimitCounters>();
  let warnedAt = Number.NEGATIVE_INFINITY;
  const onError = (error: Error) => {
    if (Date.now() - warnedAt < WARN_EVERY_MS) return;
    warnedAt = Date.now();
    logger.warn(
      { err: { message: error.message } },
      'rate limits: Redis did not answer; requests are counted in this instance until it does',
    );
  };
  for (const tenant of tenants) {
    const redis = tenant.limits.redis;
    if (!redis) {
      byTenant.set(tenant.name, memory);
      continue;
    }
    const password = readOptionalSecret(
      redis,
      'password',
      { baseDir: tenant.baseDir ?? process.cwd(), env },
      'limits.redis.',
    );
    const settings = {
      url: redis.url,
      prefix: redis.prefix,
      timeoutMs: redis.timeoutMs,
      ...(password !== undefined && { password }),
    };
    const id = JSON.stringify(settings);
    let counters = bySettings.get(id);
    if (!counters) {
      counters = await openCounters(settings, onError);
      bySettings.set(id, counters);
    }
    byTenant.set(tenant.name, counters);
  }
  return {
    of: (tenant) => byTenant.get(tenant.name) ?? memory,
    async close() {
      await Promise.allSettled([...bySettings.values()].map((counters) => counters.close()));
    },
  };
}

const WARN_EVERY_MS = 60_000;
