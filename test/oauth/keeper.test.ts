import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Connections, createConnections } from '../../src/oauth/connections.js';
import { sealTokens } from '../../src/oauth/keeper.js';
import { createSealer } from '../../src/oauth/sealing.js';
import type { CredentialStore } from '../../src/store/credential-types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';
import { type FakeAuthorizationServer, startFakeAuthorizationServer } from './fake-authorization-server.js';

/**
 * The token keeper in one process, against the local authorization server written from RFC 6749
 * (fake-authorization-server.ts): the tokens are put in the store as a consent would leave them.
 */
describe('the token keeper', () => {
  let fake: FakeAuthorizationServer;
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  const sealer = createSealer(Buffer.alloc(32, 3));
  const signal = () => AbortSignal.timeout(30_000);

  beforeEach(async () => {
    fake = await startFakeAuthorizationServer();
    dir = tempDir();
    store = openSqliteStore(dir.path);
  });
  afterEach(async () => {
    await store.close();
    await fake.close();
    dir.remove();
  });

  /** The connection `crm` whose access token has expired, its refresh token the server's. */
  async function expiredConnection(credentials: CredentialStore): Promise<Connections> {
    // A refresh token the server knows: the one of a device consent given at once.
    const connections = createConnections({ store: credentials, sealer, logger: pino({ level: 'silent' }) });
    connections.auth(
      {
        type: 'oauth2Code',
        connection: 'crm',
        issuer: fake.issuer,
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        clientAuth: 'basic',
        scopes: [],
      },
      { baseDir: dir.path, env: {} },
      10_000,
    );
    const device = await fetch(`${fake.issuer}/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: fake.clientId, client_secret: fake.clientSecret }).toString(),
    }).then((response) => response.json() as Promise<{ device_code: string; user_code: string }>);
    fake.approveDevice(device.user_code);
    const tokens = await fetch(`${fake.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: device.device_code,
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
      }).toString(),
    }).then((response) => response.json() as Promise<{ access_token: string; refresh_token: string }>);
    await store.credentials.save(
      'crm',
      sealTokens(sealer, 'crm', {
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        obtainedAt: Date.now() - 3_600_000,
        expiresAt: Date.now() - 1000,
      }),
    );
    return connections;
  }

  const authOf = (connections: Connections) =>
    connections.auth({ ...connections.settings('crm')! }, { baseDir: dir.path, env: {} }, 10_000);

  it('requests that need a token at once share one refresh', async () => {
    const auth = authOf(await expiredConnection(store.credentials));
    const all = await Promise.all(Array.from({ length: 5 }, () => auth.headers(signal())));
    expect(fake.refreshes).toBe(1);
    expect(new Set(all.map((headers) => headers['authorization']))).toEqual(
      new Set([`Bearer ${fake.accessTokensIssued[1]}`]),
    );
  });

  it('saves the new tokens before it uses them: a refresh it cannot save gives no token', async () => {
    const failing: CredentialStore = {
      ...store.credentials,
      save: () => Promise.reject(new Error('disk full')),
    };
    const auth = authOf(await expiredConnection(failing));
    await expect(auth.headers(signal())).rejects.toThrow(/disk full/);
    // The server rotated the refresh token; the caller got an error, not the unsaved access token.
    expect(fake.refreshes).toBe(1);
    // The lease was given back: the next attempt is not held up by it.
    expect(await store.credentials.lease('crm', 'another process', Date.now() + 1000)).toBe(true);
  });
});
