import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { openCore } from '../../src/core/open-core.js';
import { openTokens } from '../../src/oauth/keeper.js';
import { createSealer } from '../../src/oauth/sealing.js';
import { tenantSecret } from '../../src/secrets.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runCli } from '../support/cli.js';
import { build, docExample, type TestService, tempDir } from '../support/helper.js';
import { type FakeAuthorizationServer, startFakeAuthorizationServer } from './fake-authorization-server.js';
import { giveConsent, runLive, SECRET_ENV, testConfig } from './support.js';

/**
 * `callcard connect` and the OAuth connection of a rest source, end to end against a local
 * authorization server written from RFC 6749, RFC 7636 and RFC 8628 (fake-authorization-server.ts).
 */
describe('OAuth connections (authorization code with PKCE, refresh, device flow)', () => {
  let fake: FakeAuthorizationServer;
  let dir: ReturnType<typeof tempDir>;
  let service: TestService | undefined;
  let env: Record<string, string>;

  beforeAll(() => {
    // The service built in process reads the client secret from the process's environment.
    process.env[SECRET_ENV] = 'set-per-test';
  });
  afterAll(() => {
    delete process.env[SECRET_ENV];
  });
  beforeEach(async () => {
    fake = await startFakeAuthorizationServer();
    dir = tempDir();
    env = { [SECRET_ENV]: fake.clientSecret };
    process.env[SECRET_ENV] = fake.clientSecret;
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    await fake.close();
    dir.remove();
  });

  /** `callcard connect crm` through its loopback port, the person agreeing. */
  async function connectByLoopback(file: string) {
    const run = runLive(['connect', 'crm', '--config', file], dir.path, env);
    const [consentUrl] = await run.waitFor(/http\S+\/authorize\?\S+/);
    const back = await giveConsent(consentUrl);
    const page = await fetch(back);
    return { run, back, page, result: await run.done };
  }

  /** The tokens as kept in the store, opened with the tenant's key. */
  function storedTokens(dataDir: string) {
    const store = openSqliteStore(dataDir);
    return store.credentials
      .read('crm')
      .then((row) =>
        row?.sealed ? openTokens(createSealer(tenantSecret(dataDir)), 'crm', row.sealed) : undefined,
      )
      .finally(() => store.close());
  }

  it('connects through a loopback port: PKCE checked by the server, the code exchanged, tokens sealed at rest', async () => {
    const { file, config } = testConfig(dir.path, fake);
    const { back, page, result } = await connectByLoopback(file);
    expect(back.hostname).toBe('127.0.0.1');
    expect(back.pathname).toBe('/oauth/callback');
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/crm is connected/);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/^crm: connected$/m);

    const asked = fake.authorizations[0]!;
    expect(asked.get('code_challenge_method')).toBe('S256');
    expect(asked.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(asked.get('scope')).toBe('contacts.read offline_access');
    // The server compared SHA-256 of the verifier with the challenge before it issued the tokens.
    expect(fake.tokenRequests['authorization_code']).toBe(1);
    expect(fake.accessTokensIssued).toHaveLength(1);

    // At rest: neither token appears in the database files, only their sealed form.
    const files = readdirSync(config.dataDir).filter((name) => name.startsWith('credentials.db'));
    expect(files).toContain('credentials.db');
    const bytes = Buffer.concat(files.map((name) => readFileSync(join(config.dataDir, name))));
    expect(bytes.includes(fake.accessTokensIssued[0]!)).toBe(false);
    expect(bytes.includes(fake.refreshTokensIssued[0]!)).toBe(false);
    expect(bytes.includes('v1.')).toBe(true);
    expect(await storedTokens(config.dataDir)).toMatchObject({
      accessToken: fake.accessTokensIssued[0],
      refreshToken: fake.refreshTokensIssued[0],
    });

    // The source reads the API with the connection's token.
    const sync = await runCli(['sync', 'crm', '--config', file], { cwd: dir.path, env });
    expect(sync.stdout).toMatch(/^crm: full sync, 1 read, 1 written/m);
    expect(fake.refreshes).toBe(0);
  });

  it('connects with endpoints configured instead of an issuer, the secret sent in the form', async () => {
    const { file } = testConfig(dir.path, fake, { endpoints: true });
    const { result } = await connectByLoopback(file);
    expect(result.code).toBe(0);
    const sync = await runCli(['sync', 'crm', '--config', file], { cwd: dir.path, env });
    expect(sync.stdout).toMatch(/^crm: full sync, 1 read, 1 written/m);
    expect(fake.clientAuthSeen).toEqual(['body']);
  });

  it('the server refuses a code exchanged with another verifier than the challenge was made of', async () => {
    const { config } = testConfig(dir.path, fake, {
      publicUrl: 'https://callcard.example',
      redirectUri: 'https://callcard.example/oauth/callback',
    });
    service = await build(config as never);
    const { beginConsent } = await import('../../src/oauth/consent.js');
    const redirect = 'https://callcard.example/oauth/callback';
    const { url, state } = await beginConsent(service.connections, 'crm', redirect);
    // The kept request is swapped for one with another verifier, sealed as callcard seals it.
    const { credentials } = service.store;
    const kept = (await credentials.takePending(state, Date.now()))!;
    const sealer = service.connections.sealer;
    const other = JSON.stringify({ verifier: 'x'.repeat(43), redirectUri: redirect });
    await credentials.addPending(state, { ...kept, sealed: sealer.seal(other, `pending:${state}`) });
    const back = await giveConsent(url.href);
    const answer = await service.app.inject({ method: 'GET', url: `${back.pathname}${back.search}` });
    expect(answer.statusCode).toBe(400);
    expect(answer.body).toMatch(/consent for crm failed: invalid_grant/);
    expect(fake.accessTokensIssued).toEqual([]);
  });

  it('a consent URL without an answer in time ends the command without tokens', async () => {
    const { file, config } = testConfig(dir.path, fake);
    const result = await runCli(['connect', 'crm', '--config', file, '--timeout', '1'], {
      cwd: dir.path,
      env,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no consent for crm in time/);
    expect(await storedTokens(config.dataDir)).toBeUndefined();
  });

  it('a refused consent (access_denied) fails the command', async () => {
    const { file } = testConfig(dir.path, fake);
    fake.deny = true;
    const { page, result } = await connectByLoopback(file);
    expect(page.status).toBe(400);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/consent for crm failed: access_denied/);
  });

  it("finishes at the service's callback, once: a wrong, used or expired state is refused", async () => {
    const { file, config } = testConfig(dir.path, fake, {
      publicUrl: 'https://callcard.example',
      redirectUri: 'https://callcard.example/oauth/callback',
    });
    service = await build(config as never);
    const callback = (url: URL | string) =>
      service!.app.inject({
        method: 'GET',
        url: typeof url === 'string' ? url : `${url.pathname}${url.search}`,
      });

    const wrong = await callback('/oauth/callback?state=not-ours&code=anything');
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ error: { code: 'INVALID_INPUT' } });
    expect(wrong.body).toMatch(/unknown, used or expired state/);

    const run = runLive(['connect', 'crm', '--config', file], dir.path, env);
    const [consentUrl] = await run.waitFor(/http\S+\/authorize\?\S+/);
    await run.waitFor(/Waiting for the service/);
    const back = await giveConsent(consentUrl);
    expect(back.origin).toBe('https://callcard.example');
    const good = await callback(back);
    expect(good.statusCode).toBe(200);
    expect(good.body).toMatch(/crm is connected/);
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^crm: connected$/m);

    // The same answer again: the state was used.
    const again = await callback(back);
    expect(again.statusCode).toBe(400);
    expect(fake.tokenRequests['authorization_code']).toBe(1);

    // An expired consent request: its answer comes after its time.
    const { beginConsent, CONSENT_TTL_MS } = await import('../../src/oauth/consent.js');
    const late = await beginConsent(
      service.connections,
      'crm',
      'https://callcard.example/oauth/callback',
      () => Date.now() - CONSENT_TTL_MS - 1000,
    );
    const expired = await callback(await giveConsent(late.url.href));
    expect(expired.statusCode).toBe(400);
    expect(expired.body).toMatch(/unknown, used or expired state/);
    expect(fake.tokenRequests['authorization_code']).toBe(1);

    // The service reads the API with the tokens it kept.
    const report = await service.sync.sync(service.mirrors.get('crm')!, { full: true });
    expect(report.error).toBeUndefined();
    expect(report.written).toBe(1);
  });

  it('refreshes with rotation: after a 401, and before expiry; the new refresh token kept', async () => {
    const { file, config } = testConfig(dir.path, fake);
    expect((await connectByLoopback(file)).result.code).toBe(0);

    // The API stops taking the access token: one refresh, then the request succeeds.
    fake.expireAccessTokens();
    const sync = await runCli(['sync', 'crm', '--config', file], { cwd: dir.path, env });
    expect(sync.stdout).toMatch(/^crm: full sync, 1 read, 1 written/m);
    expect(fake.unauthorized).toBe(1);
    expect(fake.refreshes).toBe(1);
    expect(fake.refreshTokensIssued).toHaveLength(2);
    expect(await storedTokens(config.dataDir)).toMatchObject({
      accessToken: fake.accessTokensIssued[1],
      refreshToken: fake.refreshTokensIssued[1],
    });

    // Shortly before the token expires (by the clock), it is renewed without a 401.
    const tenant = loadConfig({ file, env, cwd: dir.path }).tenants[0]!;
    const core = await openCore(tenant, {
      logger: pino({ level: 'silent' }),
      oauth: { now: () => Date.now() + 3600_000 - 30_000 },
    });
    try {
      const report = await core.sync.sync(core.mirrors.get('crm')!, { full: true });
      expect(report.error).toBeUndefined();
    } finally {
      await core.close();
    }
    expect(fake.refreshes).toBe(2);
    expect(fake.unauthorized).toBe(1);
    expect((await storedTokens(config.dataDir))?.refreshToken).toBe(fake.refreshTokensIssued[2]);
  });

  it('a withdrawn consent shows in sources, /readyz, the metrics and the log; other sources keep working', async () => {
    const { file, config } = testConfig(dir.path, fake);
    expect((await connectByLoopback(file)).result.code).toBe(0);
    const lines: string[] = [];
    const METRICS_TOKEN = 'metrics-token-0123456789';
    service = await build({ ...config, metrics: { token: METRICS_TOKEN } } as never, lines);
    const first = await service.sync.sync(service.mirrors.get('crm')!, { full: true });
    expect(first.error).toBeUndefined();

    fake.revokeConsent();
    fake.expireAccessTokens();
    const crm = await service.sync.sync(service.mirrors.get('crm')!, { full: true });
    expect(crm.error).toBe('consent needed: run callcard connect crm');
    const office = await service.sync.sync(service.mirrors.get('office')!, { full: true });
    expect(office.error).toBeUndefined();
    expect(office.written).toBe(1);
    // Lookups still answer from every source: the mirror of crm keeps its last good contacts.
    const lookup = await service.lookup('+41 21 552 20 00');
    expect(lookup.hits.map((hit) => hit.from.name).sort()).toEqual(['crm', 'office']);

    const headers = { authorization: `Bearer ${METRICS_TOKEN}` };
    const ready = await service.app.inject({ method: 'GET', url: '/readyz', headers });
    // The service stays ready: the other sources answer; the check says what to do.
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toContainEqual({
      name: 'connection crm',
      ok: false,
      detail: 'consent needed: run callcard connect crm',
    });
    const metrics = await service.app.inject({ method: 'GET', url: '/metrics', headers });
    expect(metrics.body).toMatch(/^callcard_oauth_consent_needed\{[^}]*connection="crm"[^}]*\} 1$/m);
    expect(lines.join('')).toMatch(/consent needed: run callcard connect crm/);
    // Only one refresh was tried: the refusal is kept, not asked again by every request.
    expect(fake.tokenRequests['refresh_token']).toBe(1);

    const sources = await runCli(['sources', '--config', file], { cwd: dir.path, env });
    expect(sources.stdout).toMatch(/^crm .*consent needed: run callcard connect crm/m);
    expect(sources.stdout).not.toMatch(/^office .*consent/m);

    // A new consent puts it right.
    expect((await connectByLoopback(file)).result.code).toBe(0);
    const again = await service.sync.sync(service.mirrors.get('crm')!, { full: true });
    expect(again.error).toBeUndefined();
    const healed = await service.app.inject({ method: 'GET', url: '/metrics', headers });
    expect(healed.body).toMatch(/^callcard_oauth_consent_needed\{[^}]*connection="crm"[^}]*\} 0$/m);
  });

  it('a rest action shares the connection of the source; other settings for the same name are refused', async () => {
    const { file, config } = testConfig(dir.path, fake);
    expect((await connectByLoopback(file)).result.code).toBe(0);
    service = await build(config as never);
    const { createRestAction, restActionSchema } = await import('../../src/workflows/actions/rest.js');
    const auth = { ...config.sources[0]!.auth, connection: 'crm' };
    const logCall = createRestAction(
      restActionSchema.parse({
        type: 'rest',
        baseUrl: fake.issuer,
        auth,
        request: { url: '/api/calls', body: { call: '{call.id}' } },
      }),
      { baseDir: dir.path, connections: service.connections },
    );
    fake.expireAccessTokens();
    const context = { signal: new AbortController().signal, deliveryId: 'CallFlow:c1:0', attempt: 1 };
    const result = await logCall.run(
      { call: { id: 'c1', workflow: 'CallFlow', status: 'answered' } },
      context,
    );
    expect(result).toMatchObject({ id: 'call-1' });
    expect(fake.refreshes).toBe(1);

    expect(() =>
      createRestAction(
        restActionSchema.parse({
          type: 'rest',
          auth: { ...auth, clientId: 'another-client' },
          request: { url: `${fake.issuer}/api/calls`, body: {} },
        }),
        { baseDir: dir.path, connections: service!.connections },
      ),
    ).toThrow(/connection "crm" is configured twice, with different settings/);
  });

  it('tokens sealed under another tenant secret do not open: the error says to connect again', async () => {
    const { file, config } = testConfig(dir.path, fake);
    expect((await connectByLoopback(file)).result.code).toBe(0);
    writeFileSync(join(config.dataDir, 'secret'), `${Buffer.alloc(32, 9).toString('base64url')}\n`);
    const sync = await runCli(['sync', 'crm', '--config', file], { cwd: dir.path, env });
    expect(sync.stdout).toMatch(
      /^crm: failed .*do not open with this tenant secret: consent needed: run callcard connect crm/m,
    );
    expect(sync.stdout).not.toContain(fake.accessTokensIssued[0]);
  });

  it('a source never connected says so, and lookups of the others answer', async () => {
    const { file } = testConfig(dir.path, fake);
    const sources = await runCli(['sources', '--config', file], { cwd: dir.path, env });
    expect(sources.stdout).toMatch(/^crm .*not connected: run callcard connect crm/m);
    const sync = await runCli(['sync', '--config', file], { cwd: dir.path, env });
    expect(sync.stdout).toMatch(/^crm: failed .*not connected: run callcard connect crm/m);
    expect(sync.stdout).toMatch(/^office: full sync, 1 read, 1 written/m);
  });

  it('with several tenants, the command named in messages has the tenant, and connects that tenant only', async () => {
    const { config } = testConfig(dir.path, fake);
    const file = join(dir.path, 'tenants.yaml');
    const tenants = {
      dataDir: join(dir.path, 'data'),
      tenants: {
        acme: {
          basePath: '/acme',
          auth: { tokens: ['acme-token-0123456789abcdef'] },
          sources: config.sources,
        },
        globex: {
          basePath: '/globex',
          auth: { tokens: ['globex-token-0123456789abcdef'] },
          sources: config.sources,
        },
      },
    };
    writeFileSync(file, JSON.stringify(tenants));
    const before = await runCli(['sources', '--config', file, '--tenant', 'acme'], { cwd: dir.path, env });
    expect(before.stdout).toMatch(/^crm .*not connected: run callcard connect crm --tenant acme/m);

    const run = runLive(['connect', 'crm', '--config', file, '--tenant', 'acme'], dir.path, env);
    const [consentUrl] = await run.waitFor(/http\S+\/authorize\?\S+/);
    await fetch(await giveConsent(consentUrl));
    expect((await run.done).code).toBe(0);
    const acme = await runCli(['sync', 'crm', '--config', file, '--tenant', 'acme'], { cwd: dir.path, env });
    expect(acme.stdout).toMatch(/^crm: full sync, 1 read/m);
    const globex = await runCli(['sync', 'crm', '--config', file, '--tenant', 'globex'], {
      cwd: dir.path,
      env,
    });
    expect(globex.stdout).toMatch(/not connected: run callcard connect crm --tenant globex/);
  });

  it('connects with the device flow (RFC 8628)', async () => {
    const { file, config } = testConfig(dir.path, fake);
    const run = runLive(['connect', 'crm', '--device', '--config', file], dir.path, env);
    const [, code] = await run.waitFor(/enter the code (\w+)/);
    fake.approveDevice(code!);
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^crm: connected$/m);
    expect(await storedTokens(config.dataDir)).toMatchObject({ refreshToken: fake.refreshTokensIssued[0] });
  });

  it('config check reads the client secret of a connection, and opens no store', async () => {
    const { file, config } = testConfig(dir.path, fake);
    const valid = await runCli(['config', 'check', file], { cwd: dir.path, env });
    expect(valid.code).toBe(0);
    expect(existsSync(config.dataDir)).toBe(false);
    delete process.env[SECRET_ENV];
    const missing = await runCli(['config', 'check', file], { cwd: dir.path, env: {} });
    expect(missing.code).not.toBe(0);
    expect(missing.stdout + missing.stderr).toMatch(
      /sources\.0 \(crm\): .*auth\.clientSecretEnv: environment variable CRM_CLIENT_SECRET is not set/,
    );
  });

  it("the docs page's example passes config check", async () => {
    const file = join(dir.path, 'example.yaml');
    writeFileSync(file, docExample('docs/oauth.md', 'type: oauth2Code'));
    const result = await runCli(['config', 'check', file], {
      cwd: dir.path,
      env: { CRM_CLIENT_SECRET: 'example-secret-0123' },
    });
    expect(result.stdout).toMatch(/valid/);
    expect(result.code).toBe(0);
  });

  it('--device where the server offers no device flow says so', async () => {
    const { file } = testConfig(dir.path, fake, { endpoints: true, device: false });
    const result = await runCli(['connect', 'crm', '--device', '--config', file], { cwd: dir.path, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/offers no device flow \(set auth\.deviceAuthorizationUrl\)/);
    expect(fake.tokenRequests).toEqual({});
  });

  it('names the configured connections when asked for another', async () => {
    const { file } = testConfig(dir.path, fake);
    const result = await runCli(['connect', 'nope', '--config', file], { cwd: dir.path, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no OAuth connection named "nope" \(configured: crm\)/);
  });
});
