import { createAuth } from '../../net/auth.js';
import type { AuthConfig } from '../../net/auth-schema.js';
import type { Auth } from '../../net/http-client.js';
import { failureOf, readJson, sendAuthorized, unreachable } from './http-answer.js';
import { type ActionDeps, DeliveryError } from './types.js';

/**
 * JSON requests of a vendor's call-logging action (pipedrive, hubspot...): each request within the
 * action's time limit and the attempt's signal, the auth's headers added (one renewal on 401),
 * redirects refused, and failures classified for the outbox as the rest action does it.
 */
export interface VendorRequest {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  /** Appended to the base URL: `/api/v1/callLogs`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Names the request in errors: `look up the call log`. */
  readonly what: string;
}

/**
 * The caller of a vendor's action: its auth built from the settings (with the tenant's OAuth
 * connections), sent as the vendor wants it (`wrap`). A setting that cannot be used (a missing
 * secret...) throws now, naming the action.
 */
export function createVendorCaller(settings: {
  readonly name: string;
  /** The auth's settings, read when the caller is made (an error in them names the action). */
  readonly auth: () => AuthConfig;
  readonly deps: ActionDeps;
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Sends the credentials otherwise than the auth does (a vendor's own scheme). */
  readonly wrap?: (auth: Auth) => Auth;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
}) {
  let auth: Auth;
  try {
    const made = createAuth(
      settings.auth(),
      { baseDir: settings.deps.baseDir, env: settings.env ?? process.env },
      {
        timeoutMs: settings.timeoutMs,
        ...(settings.deps.connections && { connections: settings.deps.connections }),
      },
    );
    auth = settings.wrap ? settings.wrap(made) : made;
  } catch (error) {
    throw new Error(`${settings.name} action: ${(error as Error).message}`);
  }
  const base = settings.baseUrl.replace(/\/+$/, '');
  return async function call(request: VendorRequest, signal: AbortSignal): Promise<unknown> {
    const where = `${settings.name} action (${request.what}: ${request.method} ${request.path})`;
    const url = new URL(`${base}${request.path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);
    const headers: Record<string, string> = { accept: 'application/json', ...settings.headers };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    let response: Response;
    try {
      response = await sendAuthorized(
        auth,
        url,
        {
          method: request.method,
          headers,
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
        },
        both,
        where,
      );
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      throw unreachable(where, error, {
        timedOut: timeout.aborted,
        timeoutMs: settings.timeoutMs,
        cancelled: signal.aborted,
      });
    }
    if (!response.ok) throw await failureOf(where, response);
    return readJson(response);
  };
}

export type VendorCaller = ReturnType<typeof createVendorCaller>;

/** `2026-11-26 10:00:05` (UTC) of epoch milliseconds: the time format of Pipedrive's v1 API. */
export function utcDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
