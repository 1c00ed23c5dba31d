/**
 * The CONNECTOR's token rotated from the console: a new token beside the old one, both accepted,
 * then the old one retired. For the token callcard generates (its file in the data directory, or
 * the PostgreSQL store shared by several instances) and for a tenant's token file. The PostgreSQL
 * part needs the machine's server: skipped with a message without it, a failure under CI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenId } from '../../src/console/pages/settings.js';
import { adminQuery } from '../store/support.js';
import { build, type TestService, tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';
import { addAccount, browser } from './support.js';

const unavailable = await pgUnavailable();

/** The status of a lookup made with `token`. */
async function lookupWith(service: TestService, token: string): Promise<number> {
  const answer = await service.app.inject({
    method: 'POST',
    url: '/Lookup',
    headers: { 'x-execution-token': token },
    payload: { inputs: { phoneNumber: '41215522000' } },
  });
  return answer.statusCode;
}

/** The new token as the page shows it this once. */
const freshOf = (html: string) => /id="new-token"[^>]*value="([^"]+)"/.exec(html)?.[1];

/** Signs alice in, adds a token, retires `old`: answers the new token. */
async function rotate(service: TestService, old: string): Promise<string> {
  const alice = browser(service.app);
  await alice.signIn('/admin', 'alice');
  const added = await alice.submit('/admin/connector', '/admin/connector/tokens/add', {});
  expect(added.statusCode).toBe(200);
  const fresh = freshOf(added.body);
  expect(fresh).toMatch(/^[\w-]{32}$/);
  // Shown once: the page seen again does not hold it.
  expect((await alice.get('/admin/connector')).body).not.toContain(fresh!);
  expect(await lookupWith(service, old)).toBe(200);
  expect(await lookupWith(service, fresh!)).toBe(200);
  const retired = await alice.submit('/admin/connector', '/admin/connector/tokens/retire', {
    token: tokenId(old),
  });
  expect(retired.statusCode).toBe(200);
  expect(retired.body).toContain(`Token ${tokenId(old)} is no longer accepted.`);
  return fresh!;
}

describe('token rotation from the console', () => {
  let service: TestService | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
    dir?.remove();
    dir = undefined;
  });

  it('rotates the generated token: both accepted during the switch, then the new one only', async () => {
    service = await build({ auth: { tokens: [] } });
    const old = service.generatedToken!.value;
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const fresh = await rotate(service, old);
    expect(await lookupWith(service, old)).toBe(401);
    expect(await lookupWith(service, fresh)).toBe(200);
    // Kept for the next start.
    expect(readFileSync(join(service.dataDir, 'token'), 'utf8').trim()).toBe(fresh);
    const actions = (await service.store.admin.auditLog({ limit: 10 })).entries.map((entry) => [
      entry.action,
      entry.subject,
    ]);
    expect(actions.slice(0, 2)).toEqual([
      ['token-retired', tokenId(old)],
      ['token-added', tokenId(fresh)],
    ]);
  });

  it('refuses to retire the only token, and a read-only account anything', async () => {
    service = await build({ auth: { tokens: [] } });
    const old = service.generatedToken!.value;
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    await addAccount(service.store.admin, 'robin', 'read-only', 'default');
    const alice = browser(service.app);
    await alice.signIn('/admin', 'alice');
    const only = await alice.submit('/admin/connector', '/admin/connector/tokens/retire', {
      token: tokenId(old),
    });
    expect(only.statusCode).toBe(409);
    expect(await lookupWith(service, old)).toBe(200);

    const robin = browser(service.app);
    await robin.signIn('/admin', 'robin');
    const page = await robin.get('/admin/connector');
    expect(page.body).toContain(`Token ${tokenId(old)}`);
    expect(page.body).not.toContain('/admin/connector/tokens/');
    const added = await robin.submit('/admin/connector', '/admin/connector/tokens/add', {});
    expect(added.statusCode).toBe(403);
    expect(readFileSync(join(service.dataDir, 'token'), 'utf8').trim()).toBe(old);
  });

  it('rotates the tokens of a token file, keeping its comments', async () => {
    dir = tempDir();
    const file = join(dir.path, 'tokens');
    const old = 'old-token-0123456789abcdef';
    writeFileSync(file, `# the CONNECTOR of the main office\n${old}\n`);
    service = await build({ auth: { tokens: [], tokenFile: file } });
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const fresh = await rotate(service, old);
    expect(await lookupWith(service, old)).toBe(401);
    expect(readFileSync(file, 'utf8')).toBe(`# the CONNECTOR of the main office\n${fresh}\n`);
  });

  it('leaves tokens set in the configuration to it', async () => {
    service = await build();
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const alice = browser(service.app);
    await alice.signIn('/admin', 'alice');
    const page = await alice.get('/admin/connector');
    expect(page.body).toContain('The tokens are set in the configuration');
    expect(page.body).not.toContain('/admin/connector/tokens/');
    const added = await alice.submit('/admin/connector', '/admin/connector/tokens/add', {});
    expect(added.statusCode).toBe(403);
  });
});

describeWithServer('token rotation on two instances of one PostgreSQL store', unavailable, () => {
  let schema: string;
  const services: TestService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  it('the other instance accepts the new token and drops the old one', async () => {
    schema = uniqueName('cc_rotation');
    const instance = async () => {
      const service = await build({
        store: { type: 'postgres', url: pgUrl(), schema },
        auth: { tokens: [] },
      });
      services.push(service);
      return service;
    };
    const a = await instance();
    const b = await instance();
    const old = a.generatedToken!.value;
    expect(await lookupWith(b, old)).toBe(200);
    await addAccount(a.store.admin, 'alice', 'tenant', 'default');
    const fresh = await rotate(a, old);
    expect(await lookupWith(a, old)).toBe(401);
    // The other instance reads the shared store again on its own (every 15 s) and at each reload.
    b.reload();
    await expect.poll(() => lookupWith(b, fresh), { timeout: 30_000 }).toBe(200);
    await expect.poll(() => lookupWith(b, old), { timeout: 30_000 }).toBe(401);
  });
});
