import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type FakeAuthorizationServer,
  startFakeAuthorizationServer,
} from '../oauth/fake-authorization-server.js';
import { giveConsent, runLive, SECRET_ENV } from '../oauth/support.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/helper.js';
import { type GoogleFake, startGoogleFake } from './vendors/google-fake.js';

/**
 * A google source whose auth is an OAuth connection (`oauth2Code`), end to end: `callcard connect`
 * against the local authorization server of test/oauth (written from RFC 6749 and RFC 7636), then
 * `callcard sync` against the People API's stand-in (vendors/google-fake.ts), which takes the
 * access tokens that server issued; a token the API stops taking is refreshed once.
 */
describe('google source with an OAuth connection', () => {
  let authorization: FakeAuthorizationServer;
  let people: GoogleFake;
  let dir: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  /** Access tokens the People API no longer takes. */
  const refused = new Set<string>();

  beforeEach(async () => {
    authorization = await startFakeAuthorizationServer();
    refused.clear();
    people = await startGoogleFake({
      authorized: (headers) => {
        const token = headers.authorization?.replace(/^Bearer /, '') ?? '';
        return authorization.accessTokensIssued.includes(token) && !refused.has(token);
      },
    });
    dir = tempDir();
    env = { [SECRET_ENV]: authorization.clientSecret };
    people.putContact('people/c1', {
      names: [{ displayName: 'Anna Müller' }],
      phoneNumbers: [{ value: '030 1234567', canonicalForm: '+49301234567' }],
    });
    people.putContact('people/c2', {
      names: [{ displayName: 'Beat Keller' }],
      phoneNumbers: [{ value: '044 555 66 77' }],
    });
  });
  afterEach(async () => {
    await people.close();
    await authorization.close();
    dir.remove();
  });

  it('connects by the code flow with PKCE, syncs with the access token, and refreshes it once after a 401', async () => {
    const file = join(dir.path, 'callcard.yaml');
    const config = {
      dataDir: join(dir.path, 'data'),
      sources: [
        {
          type: 'google',
          name: 'google',
          baseUrl: people.url,
          auth: {
            type: 'oauth2Code',
            issuer: authorization.issuer,
            clientId: authorization.clientId,
            clientSecretEnv: SECRET_ENV,
            scopes: ['https://www.googleapis.com/auth/contacts.readonly'],
            authorizationParams: { access_type: 'offline', prompt: 'consent' },
          },
        },
      ],
    };
    writeFileSync(file, JSON.stringify(config, null, 2));

    const run = runLive(['connect', 'google', '--config', file], dir.path, env);
    const [consentUrl] = await run.waitFor(/http\S+\/authorize\?\S+/);
    const back = await giveConsent(consentUrl);
    await fetch(back);
    expect((await run.done).code).toBe(0);
    const asked = authorization.authorizations[0]!;
    expect(asked.get('code_challenge_method')).toBe('S256');
    expect(asked.get('access_type')).toBe('offline');
    expect(asked.get('scope')).toBe('https://www.googleapis.com/auth/contacts.readonly');

    const first = await runCli(['sync', 'google', '--config', file], { cwd: dir.path, env });
    expect(first.stdout).toMatch(/^google: full sync, 2 read, 2 written/m);
    expect(people.requests.at(-1)!.headers.authorization).toBe(
      `Bearer ${authorization.accessTokensIssued[0]}`,
    );

    // The API stops taking the access token: one refresh, then the listing succeeds (from the
    // sync token the first sync kept in the store: nothing changed since).
    for (const token of authorization.accessTokensIssued) refused.add(token);
    const second = await runCli(['sync', 'google', '--config', file], { cwd: dir.path, env });
    expect(second.stdout).toMatch(/^google: incremental sync, 0 read, 0 written/m);
    expect(authorization.refreshes).toBe(1);
    expect(people.requests.at(-1)!.headers.authorization).toBe(
      `Bearer ${authorization.accessTokensIssued[1]}`,
    );

    // The person withdraws consent: the sync fails and says what to do, in sync and in sources.
    authorization.revokeConsent();
    for (const token of authorization.accessTokensIssued) refused.add(token);
    const third = await runCli(['sync', 'google', '--config', file], { cwd: dir.path, env });
    expect(third.stdout).toMatch(/^google: failed .*consent needed: run callcard connect google/m);
    const sources = await runCli(['sources', '--config', file], { cwd: dir.path, env });
    expect(sources.stdout).toMatch(/^google .*consent needed: run callcard connect google/m);
    expect(people.violations).toEqual([]);
  });
});
