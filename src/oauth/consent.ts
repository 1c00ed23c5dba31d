import { CallcardError } from '../errors.js';
import { oauthFailure, oidc, tokensOf } from './client.js';
import type { Connections } from './connections.js';
import { sealTokens } from './keeper.js';

/** A consent request callcard cannot finish: a wrong, used or expired state, or a refused answer. */
export class ConsentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsentError';
  }
}

/** How long a consent URL may wait for its answer. */
export const CONSENT_TTL_MS = 10 * 60_000;

interface PendingSecrets {
  readonly verifier: string;
  readonly redirectUri: string;
}

const pendingLabel = (state: string) => `pending:${state}`;

/**
 * Starts the authorization-code flow with PKCE (RFC 7636, S256) for a connection: answers the
 * consent URL, and keeps its verifier in the store under a random `state`, for the callback (of this
 * command's loopback port, or of the running service) to finish, once, before it expires.
 */
export async function beginConsent(
  connections: Connections,
  name: string,
  redirectUri: string,
  now: () => number = Date.now,
): Promise<{ readonly url: URL; readonly state: string }> {
  const settings = connections.settings(name);
  if (!settings) throw new Error(`no OAuth connection named "${name}"`);
  const config = await connections.client(name);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const parameters: Record<string, string> = {
    ...settings.authorizationParams,
    redirect_uri: redirectUri,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  };
  if (settings.scopes.length > 0) parameters['scope'] = settings.scopes.join(' ');
  const url = oidc.buildAuthorizationUrl(config, parameters);
  const secrets: PendingSecrets = { verifier, redirectUri };
  await connections.store.addPending(state, {
    connection: name,
    sealed: connections.sealer.seal(JSON.stringify(secrets), pendingLabel(state)),
    expiresAt: now() + CONSENT_TTL_MS,
  });
  return { url, state };
}

/**
 * Finishes a consent: the browser came back to the redirect URI with `query` (code and state). The
 * state is taken from the store (so it works once), the code exchanged with the PKCE verifier, and
 * the tokens sealed into the store. Answers the connection's name.
 */
export async function finishConsent(
  connections: Connections,
  query: URLSearchParams,
  now: () => number = Date.now,
): Promise<string> {
  const state = query.get('state');
  if (!state) throw new ConsentError('the answer has no state');
  const pending = await connections.store.takePending(state, now());
  if (!pending) throw new ConsentError('unknown, used or expired state: run callcard connect again');
  let secrets: PendingSecrets;
  try {
    secrets = JSON.parse(connections.sealer.open(pending.sealed, pendingLabel(state))) as PendingSecrets;
  } catch {
    throw new ConsentError('the consent request does not open with this tenant secret');
  }
  const config = await connections.client(pending.connection);
  // The redirect URI as sent (the token request repeats it), with the answer's parameters.
  const callback = new URL(secrets.redirectUri);
  callback.search = query.toString();
  const started = now();
  let response: oidc.TokenEndpointResponse;
  try {
    response = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: secrets.verifier,
      expectedState: state,
    });
  } catch (error) {
    throw new ConsentError(oauthFailure(`consent for ${pending.connection} failed`, error));
  }
  await saveConsent(connections, pending.connection, response, started);
  return pending.connection;
}

async function saveConsent(
  connections: Connections,
  name: string,
  response: oidc.TokenEndpointResponse,
  startedAt: number,
): Promise<void> {
  const tokens = tokensOf(response, startedAt);
  await connections.store.save(name, sealTokens(connections.sealer, name, tokens));
}

/**
 * The device authorization grant (RFC 8628), for servers that offer it: `prompt` is told where to go
 * and which code to enter; answers once the person has agreed (or throws when refused or expired).
 */
export async function deviceConsent(
  connections: Connections,
  name: string,
  prompt: (how: { readonly uri: string; readonly code: string; readonly complete?: string }) => void,
  signal: AbortSignal,
  now: () => number = Date.now,
): Promise<void> {
  const settings = connections.settings(name);
  if (!settings) throw new Error(`no OAuth connection named "${name}"`);
  const config = await connections.client(name);
  if (!config.serverMetadata().device_authorization_endpoint) {
    throw new Error(
      `the authorization server of ${name} offers no device flow (set auth.deviceAuthorizationUrl)`,
    );
  }
  const parameters: Record<string, string> = {};
  if (settings.scopes.length > 0) parameters['scope'] = settings.scopes.join(' ');
  let response: oidc.TokenEndpointResponse;
  try {
    const device = await oidc.initiateDeviceAuthorization(config, parameters);
    prompt({
      uri: device.verification_uri,
      code: device.user_code,
      ...(device.verification_uri_complete && { complete: device.verification_uri_complete }),
    });
    const started = now();
    response = await oidc.pollDeviceAuthorizationGrant(config, device, undefined, { signal });
    await saveConsent(connections, name, response, started);
  } catch (error) {
    if (signal.aborted) throw new ConsentError(`no consent for ${name} in time`);
    throw new ConsentError(oauthFailure(`device consent for ${name} failed`, error));
  }
}

/**
 * The service's callback: finishes a consent whose redirect URI is the service's own; a wrong, used
 * or expired state, or a refused consent, is an INVALID_INPUT error (400), never a 5xx.
 */
export function consentCallback(connections: Connections): (query: URLSearchParams) => Promise<string> {
  return async (query) => {
    try {
      return await finishConsent(connections, query);
    } catch (error) {
      if (error instanceof ConsentError) throw new CallcardError('INVALID_INPUT', error.message);
      throw error;
    }
  };
}
