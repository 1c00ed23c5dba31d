import * as oidc from 'openid-client';
import type { OAuth2CodeConfig } from '../net/auth-schema.js';

/**
 * The openid-client configuration of a connection: the authorization server's endpoints (from its
 * discovery document, or as configured) and how the client authenticates. Discovery runs once, at
 * first use, so a server that is down does not stop callcard's start.
 */
export type ClientConfiguration = oidc.Configuration;

function clientAuth(settings: OAuth2CodeConfig, secret: string | undefined): oidc.ClientAuth {
  if (secret === undefined) return oidc.None();
  return settings.clientAuth === 'body' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
}

/** The settings name an http endpoint only on this machine (the schema refuses any other). */
function insecure(settings: OAuth2CodeConfig): boolean {
  return [
    settings.issuer,
    settings.authorizationUrl,
    settings.tokenUrl,
    settings.deviceAuthorizationUrl,
  ].some((url) => url?.startsWith('http:'));
}

export async function clientConfiguration(
  settings: OAuth2CodeConfig,
  secret: string | undefined,
  timeoutMs: number,
): Promise<ClientConfiguration> {
  const auth = clientAuth(settings, secret);
  const timeout = Math.max(1, Math.ceil(timeoutMs / 1000));
  let config: oidc.Configuration;
  if (settings.authorizationUrl !== undefined && settings.tokenUrl !== undefined) {
    const metadata: oidc.ServerMetadata = {
      issuer: settings.issuer ?? new URL(settings.tokenUrl).origin,
      authorization_endpoint: settings.authorizationUrl,
      token_endpoint: settings.tokenUrl,
      ...(settings.deviceAuthorizationUrl && {
        device_authorization_endpoint: settings.deviceAuthorizationUrl,
      }),
    };
    config = new oidc.Configuration(metadata, settings.clientId, undefined, auth);
    if (insecure(settings)) oidc.allowInsecureRequests(config);
  } else {
    config = await oidc.discovery(new URL(settings.issuer!), settings.clientId, undefined, auth, {
      ...(insecure(settings) && { execute: [oidc.allowInsecureRequests] }),
      timeout,
    });
    const { supportsPKCE: _, ...server } = config.serverMetadata();
    if (settings.deviceAuthorizationUrl !== undefined && !server.device_authorization_endpoint) {
      config = new oidc.Configuration(
        { ...server, device_authorization_endpoint: settings.deviceAuthorizationUrl },
        settings.clientId,
        undefined,
        auth,
      );
      if (insecure(settings)) oidc.allowInsecureRequests(config);
    }
  }
  config.timeout = timeout;
  return config;
}

/** The tokens of a connection, as sealed in the store. */
export interface Tokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Epoch ms; absent when the server gave no lifetime. */
  readonly expiresAt?: number;
  /** Epoch ms of the token request that gave them. */
  readonly obtainedAt: number;
}

/** Tokens from a token response; a refresh that gives no new refresh token keeps the old one. */
export function tokensOf(
  response: oidc.TokenEndpointResponse,
  startedAt: number,
  previousRefresh?: string,
): Tokens {
  if (response.token_type && response.token_type.toLowerCase() !== 'bearer') {
    throw new Error(`token_type "${response.token_type.slice(0, 20)}" is not supported (bearer only)`);
  }
  if (/[\r\n\0]/.test(response.access_token)) throw new Error('the access token is not one line');
  const refreshToken = response.refresh_token ?? previousRefresh;
  const expiresIn = response.expires_in;
  return {
    accessToken: response.access_token,
    obtainedAt: startedAt,
    ...(refreshToken !== undefined && { refreshToken }),
    ...(typeof expiresIn === 'number' && expiresIn > 0 && { expiresAt: startedAt + expiresIn * 1000 }),
  };
}

/** The OAuth error code of a token endpoint's refusal (`invalid_grant`), when it gave one. */
export function oauthErrorOf(error: unknown): string | undefined {
  if (error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError) {
    return /^[\w.-]{1,60}$/.test(error.error) ? error.error : undefined;
  }
  return undefined;
}

/** A message for a failed OAuth request that carries no token, secret or server text beyond the error code. */
export function oauthFailure(what: string, error: unknown): string {
  const code = oauthErrorOf(error);
  if (code) return `${what}: ${code}`;
  if (error instanceof oidc.ResponseBodyError) return `${what}: HTTP ${error.status}`;
  const name = (error as { code?: unknown }).code;
  return `${what}: ${typeof name === 'string' ? name : 'failed'}`;
}

export { oidc };
