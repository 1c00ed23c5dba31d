import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OAuth 2.0 authorization server for the tests, written from the RFCs (no vendor's):
 * RFC 6749 (authorization code 4.1, refresh 6, client authentication 2.3.1, errors 5.2),
 * RFC 7636 (PKCE, S256 verified at the token endpoint, section 4.6), RFC 8628 (device
 * authorization), RFC 8414 (metadata), RFC 6819 5.2.2.3 (refresh token rotation: a refresh token
 * works once). Consent is given at once (the test stands for the person), unless `deny` is set.
 * It also serves a small protected API (`GET /api/contacts`) that checks the bearer token.
 */
export interface FakeAuthorizationServer {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Successful refresh grants so far. */
  refreshes: number;
  /** Token requests of each grant type, successful or not. */
  readonly tokenRequests: Record<string, number>;
  /** Every refresh token issued, in order. */
  readonly refreshTokensIssued: string[];
  /** Every access token issued, in order. */
  readonly accessTokensIssued: string[];
  /** How the client authenticated at the token endpoint, per request: basic or body. */
  readonly clientAuthSeen: string[];
  /** API requests answered 401. */
  unauthorized: number;
  /** Calls the API recorded (`POST /api/calls`). */
  callsLogged: number;
  /** `expires_in` of the access tokens it issues. */
  expiresIn: number;
  /** The next authorization request is refused (access_denied). */
  deny: boolean;
  /** Refresh responses wait for this (the rotation has already happened when they wait). */
  holdRefresh: Promise<void> | undefined;
  /** Called when a refresh request arrives, before it is held. */
  onRefresh: (() => void) | undefined;
  /** Revokes every refresh token: the person withdrew consent. */
  revokeConsent(): void;
  /** Makes every access token issued so far invalid (the API answers 401). */
  expireAccessTokens(): void;
  /** The person enters `userCode` on the verification page and agrees. */
  approveDevice(userCode: string): void;
  /** Authorization requests (their query), in order. */
  readonly authorizations: URLSearchParams[];
  close(): Promise<void>;
}

interface Code {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly scope: string;
  used: boolean;
  readonly expiresAt: number;
}

const token = () => randomBytes(24).toString('base64url');
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export async function startFakeAuthorizationServer(): Promise<FakeAuthorizationServer> {
  const clientId = 'callcard-test-client';
  const clientSecret = `secret-${token()}`;
  const codes = new Map<string, Code>();
  const refreshTokens = new Map<string, { active: boolean; scope: string }>();
  const accessTokens = new Set<string>();
  const devices = new Map<string, { userCode: string; approved: boolean; scope: string }>();
  let issuer = '';

  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  };
  const oauthError = (response: ServerResponse, status: number, error: string) =>
    json(response, status, { error });

  const readForm = async (request: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  };

  /** RFC 6749 2.3.1: HTTP Basic (form-encoded id and secret), or the body's fields. */
  const clientOf = (request: IncomingMessage, form: URLSearchParams): string | undefined => {
    const header = request.headers.authorization;
    let id = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    fake.clientAuthSeen.push(header?.startsWith('Basic ') ? 'basic' : 'body');
    if (header?.startsWith('Basic ')) {
      const [user, password] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
      id = decodeURIComponent((user ?? '').replace(/\+/g, ' '));
      secret = decodeURIComponent((password ?? '').replace(/\+/g, ' '));
    }
    return id === clientId && secret === clientSecret ? id : undefined;
  };

  const issue = (response: ServerResponse, scope: string) => {
    const access = token();
    const refresh = token();
    accessTokens.add(access);
    fake.accessTokensIssued.push(access);
    refreshTokens.set(refresh, { active: true, scope });
    fake.refreshTokensIssued.push(refresh);
    json(response, 200, {
      access_token: access,
      token_type: 'Bearer',
      expires_in: fake.expiresIn,
      refresh_token: refresh,
      scope,
    });
  };

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', issuer);
    try {
      if (request.method === 'GET' && url.pathname.startsWith('/.well-known/')) {
        return json(response, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          device_authorization_endpoint: `${issuer}/device_authorization`,
          response_types_supported: ['code'],
          grant_types_supported: [
            'authorization_code',
            'refresh_token',
            'urn:ietf:params:oauth:grant-type:device_code',
          ],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        });
      }
      if (request.method === 'GET' && url.pathname === '/authorize') {
        const query = url.searchParams;
        fake.authorizations.push(query);
        const redirectUri = query.get('redirect_uri') ?? '';
        if (query.get('client_id') !== clientId || !/^https?:\/\//.test(redirectUri)) {
          return json(response, 400, { error: 'invalid_request' });
        }
        const back = new URL(redirectUri);
        const state = query.get('state');
        if (state) back.searchParams.set('state', state);
        const challenge = query.get('code_challenge');
        if (fake.deny) {
          fake.deny = false;
          back.searchParams.set('error', 'access_denied');
        } else if (query.get('response_type') !== 'code') {
          back.searchParams.set('error', 'unsupported_response_type');
        } else if (!challenge || query.get('code_challenge_method') !== 'S256') {
          // This server requires PKCE with S256 (RFC 7636 4.4.1).
          back.searchParams.set('error', 'invalid_request');
        } else {
          const code = token();
          codes.set(code, {
            clientId,
            redirectUri,
            challenge,
            scope: query.get('scope') ?? '',
            used: false,
            expiresAt: Date.now() + 60_000,
          });
          back.searchParams.set('code', code);
        }
        response.writeHead(302, { location: back.href });
        return response.end();
      }
      if (request.method === 'POST' && url.pathname === '/device_authorization') {
        const form = await readForm(request);
        if (!clientOf(request, form)) return oauthError(response, 401, 'invalid_client');
        const deviceCode = token();
        const userCode = randomBytes(4).toString('hex').toUpperCase();
        devices.set(deviceCode, { userCode, approved: false, scope: form.get('scope') ?? '' });
        return json(response, 200, {
          device_code: deviceCode,
          user_code: userCode,
          verification_uri: `${issuer}/device`,
          verification_uri_complete: `${issuer}/device?user_code=${userCode}`,
          expires_in: 600,
          interval: 1,
        });
      }
      if (request.method === 'POST' && url.pathname === '/token') {
        const form = await readForm(request);
        const grant = form.get('grant_type') ?? '';
        fake.tokenRequests[grant] = (fake.tokenRequests[grant] ?? 0) + 1;
        if (!clientOf(request, form)) return oauthError(response, 401, 'invalid_client');
        if (grant === 'authorization_code') {
          const code = codes.get(form.get('code') ?? '');
          if (!code || code.used || code.expiresAt < Date.now())
            return oauthError(response, 400, 'invalid_grant');
          code.used = true; // RFC 6749 4.1.2: a code works once
          if (form.get('redirect_uri') !== code.redirectUri)
            return oauthError(response, 400, 'invalid_grant');
          const verifier = form.get('code_verifier');
          // RFC 7636 4.6: BASE64URL(SHA256(code_verifier)) must equal the code_challenge.
          if (!verifier || s256(verifier) !== code.challenge)
            return oauthError(response, 400, 'invalid_grant');
          return issue(response, code.scope);
        }
        if (grant === 'refresh_token') {
          const presented = form.get('refresh_token') ?? '';
          const known = refreshTokens.get(presented);
          if (!known?.active) return oauthError(response, 400, 'invalid_grant');
          known.active = false; // rotation: the old refresh token is spent now
          fake.onRefresh?.();
          if (fake.holdRefresh) await fake.holdRefresh;
          fake.refreshes++;
          return issue(response, known.scope);
        }
        if (grant === 'urn:ietf:params:oauth:grant-type:device_code') {
          const device = devices.get(form.get('device_code') ?? '');
          if (!device) return oauthError(response, 400, 'invalid_grant');
          if (!device.approved) return oauthError(response, 400, 'authorization_pending');
          devices.delete(form.get('device_code') ?? '');
          return issue(response, device.scope);
        }
        return oauthError(response, 400, 'unsupported_grant_type');
      }
      if (request.method === 'POST' && url.pathname === '/api/calls') {
        const bearer = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
        if (!accessTokens.has(bearer)) {
          fake.unauthorized++;
          return json(response, 401, { error: 'invalid_token' });
        }
        fake.callsLogged++;
        return json(response, 201, { id: `call-${fake.callsLogged}` });
      }
      if (request.method === 'GET' && url.pathname === '/api/contacts') {
        const bearer = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
        if (!accessTokens.has(bearer)) {
          fake.unauthorized++;
          return json(response, 401, { error: 'invalid_token' });
        }
        return json(response, 200, {
          results: [{ id: 'c1', name: 'Käthi Keller', phone: '+41 21 552 20 00' }],
        });
      }
      json(response, 404, { error: 'not_found' });
    } catch {
      if (!response.headersSent) json(response, 500, { error: 'server_error' });
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeAuthorizationServer = {
    issuer,
    clientId,
    clientSecret,
    refreshes: 0,
    tokenRequests: {},
    refreshTokensIssued: [],
    accessTokensIssued: [],
    clientAuthSeen: [],
    unauthorized: 0,
    callsLogged: 0,
    expiresIn: 3600,
    deny: false,
    holdRefresh: undefined,
    onRefresh: undefined,
    authorizations: [],
    revokeConsent() {
      for (const entry of refreshTokens.values()) entry.active = false;
    },
    expireAccessTokens() {
      accessTokens.clear();
    },
    approveDevice(userCode) {
      for (const device of devices.values()) if (device.userCode === userCode) device.approved = true;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
  return fake;
}
