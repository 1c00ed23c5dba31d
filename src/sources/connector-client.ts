import { type Auth, createAuth } from '../net/auth.js';
import type { AuthConfig } from '../net/auth-schema.js';
import { createHttpClient, type HttpClientOptions } from '../net/http-client.js';
import type { SourceDeps } from './types.js';

/** What every vendor connector's source has among its settings. */
export interface ConnectorClientSettings {
  readonly name: string;
  readonly requestTimeoutMs: number;
  /** The longest Retry-After of a 429 (or 503) waited out before the request is given up. */
  readonly maxRetryWaitMs: number;
}

/**
 * The HTTP client of a vendor connector's source: its auth (an OAuth connection named after the
 * source unless the settings name one), its timeouts, and 429s waited out as the vendor asks.
 * Throws with the setting at fault when the auth cannot be built (a missing secret...).
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
  return createHttpClient({
    auth: options.wrap ? options.wrap(made) : made,
    headers: options.headers ?? {},
    timeoutMs: settings.requestTimeoutMs,
    rateLimit: { tries: 3, maxWaitMs: settings.maxRetryWaitMs },
    ...(options.errorCode && { errorCode: options.errorCode }),
  });
}
