import type { importPKCS8 } from 'jose';
import { readSecret, type SecretContext } from '../config/secret-fields.js';
import { raceAbort } from '../util/abort.js';
import type { AuthConfig, OAuth2CodeConfig } from './auth-schema.js';
import { type Auth, httpStatus } from './http-client.js';

export type { Auth } from './http-client.js';

function checkHeaderValue(value: string, setting: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error(`${setting} must be one line`);
  return value;
}

/**
 * Where the auth of OAuth connections (authorization-code grant) comes from: their tokens live in the
 * tenant's store, which only the service's wiring holds.
 */
export interface ConnectionAuths {
  /** The auth of the connection named `config.connection`; reads the client secret now. */
  auth(
    config: OAuth2CodeConfig & { readonly connection: string },
    context: SecretContext,
    timeoutMs: number,
  ): Auth;
}

export interface OAuthOptions {
  /** Longest time the token request may take. */
  readonly timeoutMs: number;
  readonly now?: () => number;
  /** Needed by `oauth2Code`. */
  readonly connections?: ConnectionAuths;
  /** The connection of an `oauth2Code` auth that names none: a source's own name. */
  readonly connection?: string;
}

const OAUTH_ERROR = /^[\w.-]{1,60}$/;

/** A token request that failed; `status` is the token endpoint's answer when it gave one. */
export class TokenRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  /** The endpoint refused the client itself (400, 401, 403): asking again with the same settings cannot help. */
  get refused(): boolean {
    return this.status === 400 || this.status === 401 || this.status === 403;
  }
}

/** Builds the auth of a source; reads its secrets now, so a missing one stops the start. */
export function createAuth(config: AuthConfig, context: SecretContext, options: OAuthOptions): Auth {
  const fixed = (headers: Record<string, string>): Auth => ({
    headers: async () => headers,
    rejected: () => false,
  });
  switch (config.type) {
    case 'none':
      return fixed({});
    case 'basic': {
      const password = readSecret(config, 'password', context);
      const credentials = Buffer.from(`${config.username}:${password}`).toString('base64');
      return fixed({ authorization: `Basic ${credentials}` });
    }
    case 'bearer': {
      const token = checkHeaderValue(readSecret(config, 'token', context), 'auth.token');
      return fixed({ authorization: `Bearer ${token}` });
    }
    case 'apiKey': {
      const key = checkHeaderValue(readSecret(config, 'key', context), 'auth.key');
      return fixed({ [config.header.toLowerCase()]: `${config.prefix ?? ''}${key}` });
    }
    case 'oauth2':
      return clientCredentials(config, readSecret(config, 'clientSecret', context), options);
    case 'googleServiceAccount':
      return serviceAccount(config, serviceAccountKey(readSecret(config, 'key', context)), options);
    case 'oauth2Code': {
      const connection = config.connection ?? options.connection;
      if (connection === undefined)
        throw new Error('auth.connection is needed: the name `callcard connect` takes');
      if (!options.connections)
        throw new Error('auth type oauth2Code needs the tenant store (run it in callcard serve)');
      return options.connections.auth({ ...config, connection }, context, options.timeoutMs);
    }
  }
}

type OAuthConfig = Extract<AuthConfig, { type: 'oauth2' }>;

interface Token {
  readonly header: string;
  /** When to fetch a new one: shortly before it expires. */
  readonly renewAt: number;
}

/** The token is renewed this long before `expires_in` ends (a tenth of its life when that is shorter). */
const RENEW_MARGIN_MS = 60_000;

/** Form encoding of RFC 6749 appendix B, used for the client id and secret in the Basic header. */
const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');

/** A token grant's request: its form and headers (the client's credentials). */
interface Grant {
  readonly tokenUrl: string;
  readonly request: () => Promise<{ form: URLSearchParams; headers: Record<string, string> }>;
}

/** OAuth2 client credentials (RFC 6749 section 4.4). */
function clientCredentials(config: OAuthConfig, secret: string, options: OAuthOptions): Auth {
  return sharedToken(
    {
      tokenUrl: config.tokenUrl,
      async request() {
        const form = new URLSearchParams({ grant_type: 'client_credentials' });
        if (config.scope) form.set('scope', config.scope);
        if (config.audience) form.set('audience', config.audience);
        const headers: Record<string, string> = {};
        if (config.clientAuth === 'basic') {
          const pair = `${formEncode(config.clientId)}:${formEncode(secret)}`;
          headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
        } else {
          form.set('client_id', config.clientId);
          form.set('client_secret', secret);
        }
        return { form, headers };
      },
    },
    options,
  );
}

type ServiceAccountConfig = Extract<AuthConfig, { type: 'googleServiceAccount' }>;

interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKey: string;
  readonly tokenUri: string | undefined;
}

/** The fields of a Google service account's JSON key; the key itself never in a message. */
function serviceAccountKey(text: string): ServiceAccountKey {
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    throw new Error('auth.key is not a service account key (JSON)');
  }
  const field = (name: string) => {
    const value = (key as Record<string, unknown> | null)?.[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const clientEmail = field('client_email');
  const privateKey = field('private_key');
  if (!clientEmail || !privateKey) throw new Error('auth.key has no client_email or private_key');
  return { clientEmail, privateKey, tokenUri: field('token_uri') };
}

/** How long the signed assertion is valid: Google takes at most an hour. */
const ASSERTION_LIFE_S = 3600;

/**
 * A Google service account (RFC 7523 JWT bearer grant): an assertion signed with its private key
 * (RS256), naming the user it acts as with domain-wide delegation (`sub`), for the scopes given.
 */
function serviceAccount(config: ServiceAccountConfig, key: ServiceAccountKey, options: OAuthOptions): Auth {
  const now = options.now ?? Date.now;
  const tokenUrl = config.tokenUrl ?? key.tokenUri ?? 'https://oauth2.googleapis.com/token';
  // jose loads with the first token request, not with every source and action.
  let signingKey: ReturnType<typeof importPKCS8> | undefined;
  return sharedToken(
    {
      tokenUrl,
      async request() {
        const { SignJWT, importPKCS8 } = await import('jose');
        signingKey ??= importPKCS8(key.privateKey, 'RS256').catch(() => {
          signingKey = undefined;
          throw new TokenRequestError('the service account key has no valid RS256 private key');
        });
        const issuedAt = Math.floor(now() / 1000);
        const assertion = await new SignJWT({ scope: config.scopes.join(' ') })
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
          .setIssuer(key.clientEmail)
          .setAudience(tokenUrl)
          .setIssuedAt(issuedAt)
          .setExpirationTime(issuedAt + ASSERTION_LIFE_S)
          .setSubject(config.subject ?? key.clientEmail)
          .sign(await signingKey);
        const form = new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion,
        });
        return { form, headers: {} };
      },
    },
    options,
  );
}

/**
 * A token asked once by its grant and shared by every request until shortly before it expires;
 * concurrent requests wait for the same token request.
 */
function sharedToken(grant: Grant, options: OAuthOptions): Auth {
  const now = options.now ?? Date.now;
  let token: Token | undefined;
  let pending: Promise<Token> | undefined;

  async function requestToken(): Promise<Token> {
    const { form, headers: own } = await grant.request();
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...own,
    };
    const started = now();
    let response: Response;
    try {
      response = await fetch(grant.tokenUrl, {
        method: 'POST',
        headers,
        body: form.toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause?.code;
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new TokenRequestError(
        `OAuth2 token request failed: ${timedOut ? `no answer within ${options.timeoutMs} ms` : 'connection failed'}${typeof cause === 'string' ? ` (${cause})` : ''}`,
      );
    }
    const text = await response.text().catch(() => '');
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
    if (!response.ok) {
      // The error code of RFC 6749 section 5.2 ("invalid_client") is safe to show; the rest is not.
      const code =
        typeof body['error'] === 'string' && OAUTH_ERROR.test(body['error']) ? ` (${body['error']})` : '';
      throw new TokenRequestError(
        `OAuth2 token request failed: ${httpStatus(response.status)}${code}`,
        response.status,
      );
    }
    const value = body['access_token'];
    if (typeof value !== 'string' || value === '' || /[\r\n\0]/.test(value)) {
      throw new TokenRequestError('OAuth2 token request failed: the answer has no access_token');
    }
    const type = body['token_type'];
    if (typeof type === 'string' && type.toLowerCase() !== 'bearer') {
      throw new TokenRequestError(
        `OAuth2 token request failed: token_type "${type.slice(0, 20)}" is not supported (bearer only)`,
      );
    }
    const expiresIn = Number(body['expires_in']);
    const lifeMs = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : Number.POSITIVE_INFINITY;
    const margin = Math.min(RENEW_MARGIN_MS, lifeMs / 10);
    return { header: `Bearer ${value}`, renewAt: started + lifeMs - margin };
  }

  function current(): Promise<Token> {
    if (token && now() < token.renewAt) return Promise.resolve(token);
    pending ??= requestToken().then(
      (fresh) => {
        token = fresh;
        pending = undefined;
        return fresh;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  }

  return {
    async headers(signal) {
      signal.throwIfAborted();
      // The token request is shared: one caller giving up does not cancel it for the others.
      const { header } = await raceAbort(signal, current());
      return { authorization: header };
    },
    rejected(used) {
      if (token && used['authorization'] === token.header) token = undefined;
      return true;
    },
  };
}

/**
 * The same auth, its `Authorization: Bearer <token>` sent under the vendor's own scheme name
 * instead (Zoho's `Zoho-oauthtoken <token>`); other headers are left as they are.
 */
export function withAuthScheme(auth: Auth, scheme: string): Auth {
  const bearer = /^Bearer /i;
  return {
    async headers(signal) {
      const headers = await auth.headers(signal);
      const value = headers['authorization'];
      return value && bearer.test(value)
        ? { ...headers, authorization: value.replace(bearer, `${scheme} `) }
        : headers;
    },
    rejected(used) {
      const value = used['authorization'];
      const original =
        value?.startsWith(`${scheme} `) === true
          ? { ...used, authorization: `Bearer ${value.slice(scheme.length + 1)}` }
          : used;
      return auth.rejected(original);
    },
  };
}
