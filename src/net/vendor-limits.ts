/**
 * What a vendor's answers say of its request limits, read from their headers, and how a sync
 * paces itself by them: a sync spends at most its share of each window (the rest stays for
 * lookups, live calls and workflow actions), and waits for a window's reset when it has spent it.
 */

/** A request budget as the vendor counts it. */
export interface LimitWindow {
  /** `short`: a burst window of seconds or minutes; `daily`: a day's (or a rolling 24 hours') budget. */
  readonly window: 'short' | 'daily';
  /** Requests (or the vendor's units) left in the window. */
  readonly remaining: number;
  /** The window's whole budget, when the vendor says it. */
  readonly limit?: number;
  /** When the window resets (epoch ms), when the vendor says it or it follows from its rules. */
  readonly resetAt?: number;
}

export type LimitVendor = 'pipedrive' | 'hubspot' | 'salesforce' | 'zoho' | 'dynamics365' | 'bexio';

const count = (value: string | null): number | undefined => {
  if (value === null || !/^\s*\d{1,15}\s*$/.test(value)) return undefined;
  return Number(value);
};

/** The next midnight, UTC, after `now`. */
const nextUtcMidnight = (now: number) => {
  const day = new Date(now);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1);
};

/** A window whose remaining count the headers give; none when they do not. */
function window(
  kind: LimitWindow['window'],
  remaining: number | undefined,
  limit: number | undefined,
  resetAt: number | undefined,
): LimitWindow[] {
  if (remaining === undefined) return [];
  return [
    {
      window: kind,
      remaining,
      ...(limit !== undefined && { limit }),
      ...(resetAt !== undefined && { resetAt }),
    },
  ];
}

/**
 * The limits an answer's headers tell, by vendor (each as its published reference names them):
 * - Pipedrive: `x-ratelimit-limit`/`-remaining`/`-reset` (seconds) of its 2-second window, and
 *   `x-daily-requests-left` of the UTC day;
 * - HubSpot: `X-HubSpot-RateLimit-Max`/`-Remaining`/`-Interval-Milliseconds` (the burst window)
 *   and `X-HubSpot-RateLimit-Daily`/`-Daily-Remaining` (the day, in the account's time zone: its
 *   reset is not told);
 * - Salesforce: `Sforce-Limit-Info: api-usage=used/limit` (a rolling 24 hours);
 * - Zoho: `X-RATELIMIT-LIMIT`/`-REMAINING`/`-RESET` of its API credits (a rolling 24 hours);
 * - Dataverse: `x-ms-ratelimit-burst-remaining-xrm-requests` (requests left in its 5-minute window);
 * - bexio: `RateLimit-Limit`/`-Remaining`/`-Reset` (seconds).
 * Microsoft Graph and the People API tell their limits only by a 429's `Retry-After`, which the
 * HTTP client waits out.
 */
export function readLimits(vendor: LimitVendor, headers: Headers, now: number): LimitWindow[] {
  const get = (name: string) => headers.get(name);
  switch (vendor) {
    case 'pipedrive': {
      const reset = count(get('x-ratelimit-reset'));
      return [
        ...window(
          'short',
          count(get('x-ratelimit-remaining')),
          count(get('x-ratelimit-limit')),
          reset === undefined ? undefined : now + reset * 1000,
        ),
        ...window('daily', count(get('x-daily-requests-left')), undefined, nextUtcMidnight(now)),
      ];
    }
    case 'hubspot': {
      const interval = count(get('x-hubspot-ratelimit-interval-milliseconds'));
      return [
        ...window(
          'short',
          count(get('x-hubspot-ratelimit-remaining')),
          count(get('x-hubspot-ratelimit-max')),
          interval === undefined ? undefined : now + interval,
        ),
        ...window(
          'daily',
          count(get('x-hubspot-ratelimit-daily-remaining')),
          count(get('x-hubspot-ratelimit-daily')),
          undefined,
        ),
      ];
    }
    case 'salesforce': {
      const usage = /(?:^|[,;\s])api-usage=(\d{1,15})\/(\d{1,15})/.exec(get('sforce-limit-info') ?? '');
      if (!usage) return [];
      const used = Number(usage[1]);
      const limit = Number(usage[2]);
      return window('daily', Math.max(0, limit - used), limit, undefined);
    }
    case 'zoho': {
      const reset = count(get('x-ratelimit-reset'));
      return window(
        'daily',
        count(get('x-ratelimit-remaining')),
        count(get('x-ratelimit-limit')),
        // Epoch milliseconds; a small number is seconds from now.
        reset === undefined ? undefined : reset > 1e11 ? reset : now + reset * 1000,
      );
    }
    case 'dynamics365':
      return window('short', count(get('x-ms-ratelimit-burst-remaining-xrm-requests')), undefined, undefined);
    case 'bexio': {
      const reset = count(get('ratelimit-reset'));
      return window(
        'short',
        count(get('ratelimit-remaining')),
        count(get('ratelimit-limit')),
        reset === undefined ? undefined : now + reset * 1000,
      );
    }
  }
}

/** How much of the vendor's limits a sync may spend. */
export interface BudgetSettings {
  /** The share of each window a sync may spend (0 to 1]; the rest stays for lookups, live calls and actions. */
  readonly share: number;
  /** Requests always left in a day's window, whatever the share. */
  readonly reserve?: number;
  /** How long a sync stays paused when the vendor does not say when its day's window resets. */
  readonly pauseMs: number;
}

/** What a sync's next request must do: go, wait a while, or stop until the window resets. */
export type Pace =
  | { readonly go: true }
  | { readonly go: false; readonly waitMs: number; readonly window: LimitWindow['window'] };

/** The requests a sync leaves in a window: the reserve, and the share it may not spend. */
export function floorOf(reading: LimitWindow, settings: BudgetSettings): number {
  const unshared = reading.limit === undefined ? 0 : Math.ceil(reading.limit * (1 - settings.share));
  const reserve = reading.window === 'daily' ? (settings.reserve ?? 0) : 0;
  return Math.max(unshared, reserve);
}

/**
 * The pace of a sync's next request by the latest readings: when a window has no more than the
 * requests the sync leaves (`floorOf`), it waits for that window's reset (a day's without a told
 * reset: `pauseMs` after it was read).
 */
export function paceOf(
  readings: readonly (LimitWindow & { readonly readAt: number })[],
  settings: BudgetSettings,
  now: number,
): Pace {
  let wait: { waitMs: number; window: LimitWindow['window'] } | undefined;
  for (const reading of readings) {
    if (reading.remaining > floorOf(reading, settings)) continue;
    const until = reading.resetAt ?? reading.readAt + (reading.window === 'daily' ? settings.pauseMs : 1000);
    const waitMs = Math.max(0, until - now);
    if (waitMs > 0 && (!wait || waitMs > wait.waitMs)) wait = { waitMs, window: reading.window };
  }
  return wait ? { go: false, ...wait } : { go: true };
}

/** The latest readings of one source's vendor limits: read from its answers, asked before its sync's requests. */
export function createLimitTracker(vendor: LimitVendor, settings: BudgetSettings, now: () => number) {
  const latest = new Map<LimitWindow['window'], LimitWindow & { readAt: number }>();
  return {
    /** Reads an answer's headers. */
    read(headers: Headers): void {
      const at = now();
      for (const reading of readLimits(vendor, headers, at))
        latest.set(reading.window, { ...reading, readAt: at });
    },
    /** The pace of the sync's next request. */
    pace(): Pace {
      return paceOf([...latest.values()], settings, now());
    },
    /** A window waited out: its reading is old, the next answer tells the new window. */
    reset(window: LimitWindow['window']): void {
      latest.delete(window);
    },
    /** Each window's remaining budget as last read, for the metrics. */
    remaining(): readonly LimitWindow[] {
      return [...latest.values()].map(({ readAt: _, ...reading }) => reading);
    },
  };
}

export type LimitTracker = ReturnType<typeof createLimitTracker>;
