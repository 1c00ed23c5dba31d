import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { adminQuery } from '../store/support.js';
import { build, type TestService, tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';

const ACME = 'acme-token-aaaaaaaaaaaaaaaa';
const GLOBEX = 'globex-token-bbbbbbbbbbbbbb';

/** Two customers on one instance; both have a contact with the same number. */
const TWO_TENANTS: ConfigInput = {
  region: 'CH',
  tenants: {
    acme: { basePath: '/acme', auth: { tokens: [ACME] } },
    globex: {
      basePath: '/globex',
      region: 'DE',
      auth: { header: 'X-Globex-Key', tokens: [GLOBEX] },
      workflows: { Ticket: { actions: [] } },
    },
  },
};

const NUMBER = '41215522000';

const unavailable = await pgUnavailable();

/** The two tenants in one PostgreSQL database, each in a schema of its own; undefined: the embedded store. */
function tenantsIn(schemas: { acme: string; globex: string } | undefined): ConfigInput {
  if (!schemas) return TWO_TENANTS;
  const tenants = TWO_TENANTS.tenants!;
  return {
    ...TWO_TENANTS,
    store: { type: 'postgres', url: pgUrl() },
    tenants: {
      acme: { ...tenants['acme']!, store: { schema: schemas.acme } },
      globex: { ...tenants['globex']!, store: { schema: schemas.globex } },
    },
  };
}

describe('tenants (sqlite)', () => tenantSuite('sqlite'));
describeWithServer('tenants (postgres)', unavailable, () => tenantSuite('postgres'));

function tenantSuite(kind: 'sqlite' | 'postgres') {
  let service: TestService;
  let schemas: { acme: string; globex: string } | undefined;
  beforeEach(() => {
    const prefix = uniqueName('cc_tenants');
    schemas = kind === 'postgres' ? { acme: `${prefix}_acme`, globex: `${prefix}_globex` } : undefined;
  });
  afterEach(async () => {
    await service?.close();
    for (const schema of Object.values(schemas ?? {}))
      await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  async function twoTenants() {
    service = await build(tenantsIn(schemas));
    await service.importCsv('id,name,phone\na1,Anna Acme,+41 21 552 20 00\n', { tenant: 'acme' });
    await service.importCsv('id,name,phone\ng1,Gustav Globex,+41 21 552 20 00\n', { tenant: 'globex' });
    return service;
  }

  const post = (url: string, headers: Record<string, string>, payload: unknown) =>
    service.app.inject({ method: 'POST', url, headers, payload: payload as object });
  const lookup = (url: string, headers: Record<string, string>) =>
    post(url, headers, { inputs: { phoneNumber: NUMBER } });

  it('answers each tenant from its own data, at its own base path, with its own token', async () => {
    await twoTenants();
    const acme = await lookup('/acme/Lookup', { 'x-execution-token': ACME });
    expect(acme.statusCode).toBe(200);
    expect(acme.json()).toEqual([expect.objectContaining({ id: 'a1', name: 'Anna Acme' })]);
    const globex = await lookup('/globex/Lookup', { 'x-globex-key': GLOBEX });
    expect(globex.json()).toEqual([expect.objectContaining({ id: 'g1', name: 'Gustav Globex' })]);
    // The tenant's workflows, and only its own, are offered on its cards.
    expect(acme.json()[0].crmActions).toEqual(['CallFlow']);
    expect(globex.json()[0].crmActions).toEqual(['CallFlow', 'Ticket']);
  });

  it("never lets one tenant's token read another's data", async () => {
    await twoTenants();
    // Another tenant's token in its own header: 404, as where no tenant is (it does not even tell
    // that another tenant is here); in any other header it is no token at all: 401.
    for (const [url, headers, status] of [
      ['/globex/Lookup', { 'x-execution-token': ACME }, 404],
      ['/globex/Lookup', { 'x-globex-key': ACME }, 401],
      ['/acme/Lookup', { 'x-globex-key': GLOBEX }, 404],
      ['/acme/Lookup', { 'x-execution-token': GLOBEX }, 401],
      ['/globex/Ticket', { 'x-execution-token': ACME }, 404],
      ['/acme/CallFlow', { 'x-globex-key': GLOBEX }, 404],
    ] as const) {
      const response = await lookup(url, headers);
      expect(response.statusCode, `${url} with another tenant's token`).toBe(status);
      expect(response.body).not.toMatch(/Anna|Gustav|a1|g1/);
    }
    // No tenant at the root: the CONNECTOR API exists only under the tenants' paths.
    const root = await lookup('/Lookup', { 'x-execution-token': ACME });
    expect(root.statusCode).toBe(404);
    expect(root.body).not.toMatch(/Anna|Gustav/);
  });

  it("keeps each tenant's calls, pages and files apart", async () => {
    await twoTenants();
    const call = {
      inputs: {
        direction: 'incoming',
        originatorNumber: NUMBER,
        destinationNumber: '41445556677',
        startedTime: '2026-11-27T09:00:00Z',
      },
    };
    const answer = await post('/acme/CallFlow', { 'x-execution-token': ACME }, call);
    expect(answer.statusCode).toBe(200);
    const { id, url } = answer.json() as { id: string; url: string };
    expect(url).toContain('/acme/calls/');
    const page = new URL(url).pathname;
    expect((await service.app.inject({ method: 'GET', url: page })).statusCode).toBe(200);
    // The same record id under the other tenant's path is not found there.
    const elsewhere = await service.app.inject({ method: 'GET', url: page.replace('/acme/', '/globex/') });
    expect(elsewhere.statusCode).toBe(404);
    const [acme, globex] = service.tenants;
    expect(await acme!.store.calls.get(id)).toBeDefined();
    expect(await globex!.store.calls.get(id)).toBeUndefined();
    if (kind === 'sqlite') {
      expect(acme!.tenant.dataDir).toBe(join(service.dataDir, 'acme'));
      expect(globex!.tenant.dataDir).toBe(join(service.dataDir, 'globex'));
      expect(existsSync(join(service.dataDir, 'acme', 'contacts.db'))).toBe(true);
      expect(existsSync(join(service.dataDir, 'globex', 'contacts.db'))).toBe(true);
    } else {
      expect([acme!.tenant.store, globex!.tenant.store]).toMatchObject([
        { type: 'postgres', schema: schemas!.acme },
        { type: 'postgres', schema: schemas!.globex },
      ]);
    }
  });

  it('reads national numbers in each tenant’s region; shared settings are defaults', async () => {
    await twoTenants();
    expect(service.tenants.map((tenant) => tenant.tenant.region)).toEqual(['CH', 'DE']);
    // 021 552 20 00 is the Swiss contact's number in Switzerland (acme), not in Germany (globex).
    const national = { inputs: { phoneNumber: '0215522000' } };
    const acme = await post('/acme/Lookup', { 'x-execution-token': ACME }, national);
    expect(acme.json()).toHaveLength(1);
    const globex = await post('/globex/Lookup', { 'x-globex-key': GLOBEX }, national);
    expect(globex.json()).toEqual([]);
  });

  it('labels metrics by tenant', async () => {
    await twoTenants();
    await lookup('/acme/Lookup', { 'x-execution-token': ACME });
    const text = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toContain('callcard_lookups_total{tenant="acme",outcome="hit"} 1');
    expect(text).toContain('callcard_lookups_total{tenant="globex",outcome="hit"} 0');
  });

  it('never answers one tenant with another’s data, whatever the path, token and number (fuzz)', async () => {
    await twoTenants();
    const tokens = [ACME, GLOBEX, '', `${ACME}x`, ACME.toUpperCase()];
    const paths = ['/acme', '/globex', '/ACME', '/acme/', '/globex//', '', '/acme/globex', '/globex/..'];
    const numbers = ['41215522000', '+41 21 552 20 00', '0215522000', '0041215522000', '021 552 20 00'];
    let found = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom('Lookup', 'lookup', 'LOOKUP', 'CallFlow'),
        fc.constantFrom(...tokens),
        fc.constantFrom('x-execution-token', 'x-globex-key', 'X-Execution-Token'),
        fc.constantFrom(...numbers),
        fc.boolean(),
        async (path, route, token, header, number, legacy) => {
          const response = await service.app.inject({
            method: 'POST',
            url: `${path}/${route}${legacy ? `?PhoneNumber=${encodeURIComponent(number)}` : ''}`,
            headers: { [header]: token },
            ...(legacy ? {} : { payload: { inputs: { phoneNumber: number } } }),
            remoteAddress: `198.51.100.${Math.floor(Math.random() * 200)}`,
          });
          expect(response.statusCode).toBeLessThan(500);
          const body = response.body;
          const tenant = /^\/acme\/?$/i.test(path)
            ? 'acme'
            : /^\/globex\/*$/i.test(path)
              ? 'globex'
              : undefined;
          // Anna is acme's, Gustav globex's: neither ever shows up anywhere else.
          if (tenant !== 'acme' || token !== ACME) expect(body).not.toContain('Anna');
          if (tenant !== 'globex' || token !== GLOBEX) expect(body).not.toContain('Gustav');
          if (/Anna|Gustav/.test(body)) found += 1;
        },
      ),
      { numRuns: 300 },
    );
    // The runs did reach each tenant's data, so the property was tested on answers, not only on refusals.
    expect(found).toBeGreaterThan(0);
  });

  it('names no tenant path on the front page', async () => {
    await twoTenants();
    const front = await service.app.inject({ method: 'GET', url: '/' });
    expect(front.body).not.toMatch(/acme|globex/);
  });
}

describe('tenant configuration', () => {
  const problems = (config: ConfigInput) => {
    try {
      loadConfig({ env: {}, overrides: { dataDir: '/tmp/callcard-tenants', ...config } });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.join('\n');
      throw error;
    }
    return '';
  };

  it('refuses settings that would let tenants share data or tokens', () => {
    const text = problems({
      tenants: {
        a: { basePath: '/shared', auth: { tokens: [ACME] } },
        b: { basePath: '/shared/b', auth: { tokens: [ACME] } },
        c: { auth: { tokens: [GLOBEX] } },
        d: {
          basePath: '/d',
          dataDir: '/tmp/callcard-tenants/a',
          auth: { tokens: ['d-token-cccccccccccccccc'] },
        },
      },
    });
    expect(text).toMatch(/^tenants\.b\.basePath: overlaps tenant "a"/m);
    expect(text).toMatch(/^tenants\.b\.auth\.tokens\.0: is tenant "a"'s token too/m);
    expect(text).toMatch(/^tenants\.c\.basePath: each tenant needs a base path of its own/m);
    expect(text).toMatch(/^tenants\.d\.dataDir: is tenant "a"'s too/m);
  });

  it('refuses per-tenant settings at the top when tenants are configured', () => {
    const text = problems({
      sources: [{ type: 'embedded' }],
      auth: { tokens: [ACME] },
      tenants: { a: { basePath: '/a' } },
    });
    expect(text).toMatch(/^sources: with tenants, set this in each tenant/m);
    expect(text).toMatch(/^auth\.tokens: with tenants, set this in each tenant/m);
  });

  it('gives shared settings to every tenant unless it sets its own', () => {
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: '/tmp/x',
        region: 'AT',
        maxResults: 3,
        auth: { header: 'X-Key' },
        lookup: { deadlineMs: 800 },
        tenants: { a: { basePath: '/a' }, b: { basePath: '/b', region: 'DE', lookup: { deadlineMs: 400 } } },
      },
    });
    const [a, b] = config.tenants;
    expect(a).toMatchObject({
      region: 'AT',
      maxResults: 3,
      auth: { header: 'X-Key' },
      lookup: { deadlineMs: 800 },
    });
    expect(b).toMatchObject({
      region: 'DE',
      maxResults: 3,
      auth: { header: 'X-Key' },
      lookup: { deadlineMs: 400 },
    });
    expect(a!.dataDir).toBe(join('/tmp/x', 'a'));
  });
});

describe('tokens that reach two tenants', () => {
  const SHARED = 'shared-token-aaaaaaaaaaaaaa';
  let dir: ReturnType<typeof tempDir>;
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
    dir.remove();
  });

  it('are refused at start, from token files and environment variables alike', async () => {
    dir = tempDir();
    writeFileSync(join(dir.path, 'acme.tokens'), `${SHARED}\n`);
    process.env['CALLCARD_TEST_GLOBEX_TOKENS'] = `globex-token-bbbbbbbbbbbbbb ${SHARED}`;
    try {
      const started = build({
        tenants: {
          acme: { basePath: '/acme', auth: { tokenFile: join(dir.path, 'acme.tokens') } },
          globex: {
            basePath: '/globex',
            auth: { header: 'X-Globex-Key', tokenEnv: 'CALLCARD_TEST_GLOBEX_TOKENS' },
          },
        },
      });
      await expect(started).rejects.toThrow(/tenant "globex": a token of it is tenant "acme"'s too/);
    } finally {
      delete process.env['CALLCARD_TEST_GLOBEX_TOKENS'];
    }
  });

  it('are refused at a reload, which keeps the tokens in use and says so', async () => {
    dir = tempDir();
    const acmeFile = join(dir.path, 'acme.tokens');
    const globexFile = join(dir.path, 'globex.tokens');
    writeFileSync(acmeFile, `${ACME}\n`);
    writeFileSync(globexFile, `${GLOBEX}\n`);
    const lines: string[] = [];
    service = await build(
      {
        tenants: {
          acme: { basePath: '/acme', auth: { tokenFile: acmeFile } },
          globex: { basePath: '/globex', auth: { tokenFile: globexFile } },
        },
      },
      lines,
    );
    const status = async (path: string, token: string) =>
      (
        await service!.app.inject({
          method: 'POST',
          url: `${path}/Lookup`,
          headers: { 'x-execution-token': token },
          payload: { inputs: { phoneNumber: NUMBER } },
        })
      ).statusCode;
    expect(await status('/acme', ACME)).toBe(200);
    expect(await status('/globex', ACME)).toBe(404);
    // acme's token written into globex's file: globex's reload is refused, acme's goes on.
    writeFileSync(globexFile, `${GLOBEX}\n${ACME}\n`);
    service.reload();
    expect(await status('/globex', ACME)).toBe(404);
    expect(await status('/globex', GLOBEX)).toBe(200);
    expect(await status('/acme', ACME)).toBe(200);
    const warning = lines
      .map((line) => JSON.parse(line))
      .find((entry) => /tokens not reloaded/.test(entry.msg));
    expect(warning).toMatchObject({ tenant: 'globex', level: 50 });
    expect(warning.err.message).toMatch(/tenant "acme"'s too/);
    expect(lines.join('\n')).not.toContain(ACME);
    // Once the file is right again, its new tokens are taken.
    writeFileSync(globexFile, `${GLOBEX}\nglobex-next-cccccccccccccc\n`);
    service.reload();
    expect(await status('/globex', 'globex-next-cccccccccccccc')).toBe(200);
  });
});
