import { type Auth, createAuth } from '../net/auth.js';
import type { AuthConfig, BudgetConfig } from '../net/auth-schema.js';
import {
  createHttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
  RestRequestError,
} from '../net/http-client.js';
import { createLimitTracker, type LimitVendor, type LimitWindow } from '../net/vendor-limits.js';
import type { SourceDeps } from './types.js';

/** What every vendor connector's source has among its settings. */
export interface ConnectorClientSettings {
  readonly name: string;
  readonly requestTimeoutMs: number;
  /** The longest Retry-After of a 429 (or 503) waited out before the request is given up. */
  readonly maxRetryWaitMs: number;
  /** The share of the vendor's request limits a sync may spend (the defaults when absent). */
  readonly budget?: BudgetConfig;
}

/** Test seams of a connector's client: the clock and the wait of a paced sync. */
export interface ConnectorTiming {
  readonly now?: () => number;
  /** Waits `ms` (or rejects with the signal's reason); a test records the waits instead. */
  readonly pause?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}

const DEFAULT_BUDGET: BudgetConfig = { share: 0.5, pauseMs: 900_000 };

/**
 * The HTTP client of a vendor connector's source: its auth (an OAuth connection named after the
 * source unless the settings name one), its timeouts, and 429s waited out as the vendor asks.
 * With `limits`, the vendor's limit headers are read from every answer, and a sync's requests are
 * paced by them (`budget`): one that would spend more than the sync's share of a window waits for
 * its reset, within `maxRetryWaitMs`; a longer wait (a day's budget spent down to the reserve)
 * fails the sync at once, without a request, until the window resets. Live requests (`live`) are
 * never held back. Throws with the setting at fault when the auth cannot be built (a missing secret...).
 */
export function connectorClient(
  settings: ConnectorClientSettings,
  auth: AuthConfig,
  deps: SourceDeps,
  options: {
    readonly env?: NodeJS.ProcessEnv;
    readonly headers?: Readonly<Record<string, string>>;
    /** Sends the credentials otherwise than the auth does (a vendor's own scheme). */
    readonly wrap?: (auth: Auth) => Auth;
    /** Reads the vendor's error code from a failed answer's body. */
    readonly errorCode?: HttpClientOptions['errorCode'];
    /** Whose limit headers the answers carry. */
    readonly limits?: LimitVendor;
    readonly timing?: ConnectorTiming;
  } = {},
) {
  const made = createAuth(
    auth,
    { baseDir: deps.baseDir, env: options.env ?? process.env },
    {
      timeoutMs: settings.requestTimeoutMs,
      connection: settings.name,
      ...(deps.connections && { connections: deps.connections }),
    },
  );
  const http = createHttpClient({
    auth: options.wrap ? options.wrap(made) : made,
    headers: options.headers ?? {},
    timeoutMs: settings.requestTimeoutMs,
    rateLimit: { tries: 3, maxWaitMs: settings.maxRetryWaitMs },
    ...(options.errorCode && { errorCode: options.errorCode }),
  });
  const now = options.timing?.now ?? Date.now;
  const wait = options.timing?.pause ?? pause;
  const tracker = options.limits
    ? createLimitTracker(options.limits, settings.budget ?? DEFAULT_BUDGET, now)
    : undefined;

  /** Holds a sync's request until its share of the vendor's windows allows it. */
  async function paced(what: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      const pace = tracker!.pace();
      if (pace.go) return;
      if (pace.waitMs > settings.maxRetryWaitMs) {
        const until = new Date(now() + pace.waitMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
        throw new RestRequestError(
          `${what}: the sync's share of the vendor's ${pace.window === 'daily' ? "day's" : 'burst'} request budget is spent; syncs pause until ${until}`,
        );
      }
      await wait(pace.waitMs, signal);
      tracker!.reset(pace.window);
    }
  }

  return {
    /** Sends a request; a sync's (not `live`) is paced by the vendor's limits. */
    async send(
      request: HttpRequest,
      signal: AbortSignal,
      accept404: boolean,
      { live = false }: { readonly live?: boolean } = {},
    ): Promise<HttpResponse> {
      if (tracker && !live) await paced(request.what, signal);
      const response = await http.send(request, signal, accept404);
      tracker?.read(response.headers);
      return response;
    },
    /** The vendor's windows as last read: what is left of each (none before the first answer). */
    budget(): readonly LimitWindow[] {
      return tracker?.remaining() ?? [];
    },
  };
}
