import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Auth } from '../net/auth.js';
import type { CredentialStore } from '../store/credential-types.js';
import { raceAbort } from '../util/abort.js';
import {
  type ClientConfiguration,
  oauthErrorOf,
  oauthFailure,
  oidc,
  type Tokens,
  tokensOf,
} from './client.js';
import type { Sealer } from './sealing.js';

/** The connection cannot be used until a person gives consent again (`callcard connect NAME`). */
export class ConsentNeededError extends Error {
  constructor(
    readonly connection: string,
    what: 'consent needed' | 'not connected' = 'consent needed',
    /** With several tenants, the tenant's name, which the command needs. */
    tenant?: string,
  ) {
    super(`${what}: run callcard connect ${connection}${tenant === undefined ? '' : ` --tenant ${tenant}`}`);
    this.name = 'ConsentNeededError';
  }
}

export interface KeeperOptions {
  readonly connection: string;
  /** With several tenants, the tenant's name, which the messages' command needs. */
  readonly tenant?: string;
  readonly store: CredentialStore;
  readonly sealer: Sealer;
  readonly client: () => Promise<ClientConfiguration>;
  /** Who holds the refresh lease: unique per process and connection. */
  readonly holder: string;
  readonly logger: Logger;
  /** Longest time a refresh may take; the lease lasts this plus a margin. */
  readonly timeoutMs: number;
  readonly now?: () => number;
  /** How often a process waiting for another's refresh reads the store again. */
  readonly waitMs?: number;
  /** Told each time this process waits for another's refresh (tests). */
  readonly onWait?: () => void;
}

/** Tokens are refreshed this long before they expire (a tenth of their life when that is shorter). */
const RENEW_MARGIN_MS = 60_000;

export function sealTokens(sealer: Sealer, connection: string, tokens: Tokens): string {
  return sealer.seal(JSON.stringify(tokens), `connection:${connection}`);
}

export function openTokens(sealer: Sealer, connection: string, sealed: string): Tokens {
  return JSON.parse(sealer.open(sealed, `connection:${connection}`)) as Tokens;
}

/**
 * The auth of an OAuth connection: the access token kept in the store, refreshed shortly before it
 * expires. One process at a time refreshes (it holds the connection's lease in the store); the
 * others wait and read what it saved, so a rotating refresh token is used once. The new tokens are
 * saved before the access token is used. A refused refresh token (`invalid_grant`) marks the
 * connection as needing consent, for every process.
 */
export function createTokenKeeper(options: KeeperOptions): Auth {
  const { connection, store, sealer, logger, tenant } = options;
  const now = options.now ?? Date.now;
  const waitMs = options.waitMs ?? 200;
  let current: Tokens | undefined;
  let pending: Promise<Tokens> | undefined;
  /** An access token the API refused (401): renewed even if it has not expired. */
  let refused: string | undefined;

  const fresh = (tokens: Tokens) => {
    if (tokens.accessToken === refused) return false;
    if (tokens.expiresAt === undefined) return true;
    const margin = Math.min(RENEW_MARGIN_MS, Math.max(0, tokens.expiresAt - tokens.obtainedAt) / 10);
    return now() < tokens.expiresAt - margin;
  };

  async function stored(): Promise<Tokens> {
    const row = await store.read(connection);
    if (!row) throw new ConsentNeededError(connection, 'not connected', tenant);
    if (row.sealed === undefined) throw new ConsentNeededError(connection, 'consent needed', tenant);
    try {
      return openTokens(sealer, connection, row.sealed);
    } catch (error) {
      // The tenant's secret file was replaced: only a new consent gives tokens this key opens.
      throw new Error(
        `${(error as Error).message}: ${new ConsentNeededError(connection, 'consent needed', tenant).message}`,
      );
    }
  }

  async function refresh(tokens: Tokens): Promise<Tokens> {
    if (tokens.refreshToken === undefined) {
      // Nothing to renew with: only a new consent gives a token.
      await store.markConsentNeeded(connection, 'the access token expired and there is no refresh token');
      throw new ConsentNeededError(connection, 'consent needed', tenant);
    }
    const config = await options.client();
    const started = now();
    let response: oidc.TokenEndpointResponse;
    try {
      response = await oidc.refreshTokenGrant(config, tokens.refreshToken);
    } catch (error) {
      if (oauthErrorOf(error) === 'invalid_grant') {
        await store.markConsentNeeded(connection, 'the authorization server refused the refresh token');
        const needed = new ConsentNeededError(connection, 'consent needed', tenant);
        logger.error({ connection }, `OAuth refresh token refused (invalid_grant): ${needed.message}`);
        throw needed;
      }
      throw new Error(oauthFailure(`OAuth token refresh of ${connection} failed`, error));
    }
    const renewed = tokensOf(response, started, tokens.refreshToken);
    // Saved before it is used: a rotated refresh token is never lost, whatever happens next.
    await store.save(connection, sealTokens(sealer, connection, renewed));
    logger.info({ connection }, 'OAuth tokens refreshed');
    return renewed;
  }

  async function obtain(signal: AbortSignal): Promise<Tokens> {
    for (;;) {
      signal.throwIfAborted();
      const tokens = await stored();
      if (fresh(tokens)) return tokens;
      const leaseMs = options.timeoutMs + 10_000;
      if (await store.lease(connection, options.holder, now() + leaseMs)) {
        try {
          // Another process may have refreshed between the read and the lease.
          const latest = await stored();
          if (fresh(latest)) return latest;
          return await refresh(latest);
        } finally {
          await store.release(connection, options.holder);
        }
      }
      options.onWait?.();
      await sleep(waitMs, undefined, { signal });
    }
  }

  function tokens(): Promise<Tokens> {
    if (current && fresh(current)) return Promise.resolve(current);
    // One refresh per process at a time; shared by every request, none of them able to cancel it.
    pending ??= obtain(AbortSignal.timeout(options.timeoutMs * 3 + 30_000)).then(
      (got) => {
        current = got;
        pending = undefined;
        return got;
      },
      (error: unknown) => {
        pending = undefined;
        current = undefined;
        throw error;
      },
    );
    return pending;
  }

  return {
    async headers(signal) {
      signal.throwIfAborted();
      const { accessToken } = await raceAbort(signal, tokens());
      return { authorization: `Bearer ${accessToken}` };
    },
    rejected(used) {
      const token = used['authorization']?.replace(/^Bearer /, '');
      if (token === undefined) return false;
      refused = token;
      if (current?.accessToken === token) current = undefined;
      return true;
    },
  };
}
