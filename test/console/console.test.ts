import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAdminStore } from '../../src/store/sqlite/admin-store.js';
import { build, type TestService, tempDir } from '../support/helper.js';
import { addAccount, browser, csrfOf, PASSWORD } from './support.js';

// Sign-ins hash passwords with scrypt (32 MiB each): seconds apiece on a busy machine.
describe('the console over HTTP', { timeout: 90_000 }, () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('is off (404, as an unknown path) until an account exists', async () => {
    service = await build();
    const off = await service.app.inject({ method: 'GET', url: '/admin/sign-in' });
    expect(off.statusCode).toBe(404);
    expect(off.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'no such endpoint: GET /admin/sign-in' },
    });
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const on = await service.app.inject({ method: 'GET', url: '/admin/sign-in' });
    expect(on.statusCode).toBe(200);
    expect(on.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('signs in, refuses a wrong password, and signs out on the server', async () => {
    service = await build();
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const user = browser(service.app);
    expect((await user.get('/admin')).headers.location).toBe('/admin/sign-in');

    const wrong = await user.signIn('/admin', 'alice', 'not the password');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('Wrong name or password.');
    expect(user.jar.cookies.has('callcard_session')).toBe(false);

    const good = await user.signIn('/admin', 'alice');
    expect(good.statusCode).toBe(303);
    expect(good.headers.location).toBe('/admin');
    const cookie = [good.headers['set-cookie']]
      .flat()
      .find((line) => String(line).startsWith('callcard_session='));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/admin/);
    expect(cookie).not.toMatch(/Secure/); // plain HTTP here; HTTPS is tested below
    const overview = await user.get('/admin');
    expect(overview.statusCode).toBe(200);
    expect(overview.body).toContain('Signed in as alice');

    const session = user.jar.cookies.get('callcard_session')!;
    const out = await user.submit('/admin', '/admin/sign-out', {});
    expect(out.headers.location).toBe('/admin/sign-in?out=1');
    // The old cookie, sent again, opens nothing: the session ended on the server.
    const replay = await service.app.inject({
      method: 'GET',
      url: '/admin',
      headers: { cookie: `callcard_session=${session}` },
    });
    expect(replay.statusCode).toBe(303);
    expect(replay.headers.location).toBe('/admin/sign-in');

    const actions = (await service.store.admin.auditLog({ limit: 10 })).entries.map((entry) => entry.action);
    expect(actions).toEqual(['sign-out', 'sign-in', 'sign-in-failed']);
  });

  it('refuses a change without the form token (403), and with the token of another session', async () => {
    service = await build();
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const user = browser(service.app);
    await user.signIn('/admin', 'alice');
    const bare = await user.post('/admin/connector/reveal', {});
    expect(bare.statusCode).toBe(403);
    expect(bare.body).toContain('This form has expired');
    expect(bare.body).not.toContain('at ');

    const other = browser(service.app);
    await other.signIn('/admin', 'alice');
    const foreign = csrfOf((await other.get('/admin/connector')).body);
    const crossed = await user.post('/admin/connector/reveal', { _csrf: foreign });
    expect(crossed.statusCode).toBe(403);

    const good = await user.submit('/admin/connector', '/admin/connector/reveal', {});
    expect(good.statusCode).toBe(200);
    expect(good.body).toContain('test-token-0123456789abcdef');
  });

  it('makes a one-time password be changed before anything else', async () => {
    service = await build();
    await addAccount(service.store.admin, 'alice', 'tenant', 'default', { mustChange: true });
    const user = browser(service.app);
    const signed = await user.signIn('/admin', 'alice');
    expect(signed.headers.location).toBe('/admin/password');
    expect((await user.get('/admin/calls')).headers.location).toBe('/admin/password');
    const short = await user.submit('/admin/password', '/admin/password', {
      password: 'short',
      repeat: 'short',
    });
    expect(short.statusCode).toBe(400);
    const fresh = 'a much longer password';
    const changed = await user.submit('/admin/password', '/admin/password', {
      password: fresh,
      repeat: fresh,
    });
    expect(changed.headers.location).toBe('/admin');
    expect((await user.get('/admin/calls')).statusCode).toBe(200);
    // The old password no longer opens the console; the new one does.
    expect((await browser(service.app).signIn('/admin', 'alice', PASSWORD)).statusCode).toBe(401);
    expect((await browser(service.app).signIn('/admin', 'alice', fresh)).statusCode).toBe(303);
  });

  it('ends a session idle for longer than the idle timeout', async () => {
    let now = Date.now();
    service = await build({ admin: { idleTimeoutMs: 60_000 } }, undefined, { now: () => now });
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const user = browser(service.app);
    await user.signIn('/admin', 'alice');
    now += 50_000;
    expect((await user.get('/admin')).statusCode).toBe(200);
    now += 50_000; // 50 s after the last request: still on
    expect((await user.get('/admin')).statusCode).toBe(200);
    now += 61_000;
    const late = await user.get('/admin');
    expect(late.headers.location).toBe('/admin/sign-in?expired=1');
    expect((await user.get('/admin')).headers.location).toBe('/admin/sign-in');
  });

  it('throttles sign-ins per account, even with the right password', async () => {
    let now = Date.now();
    service = await build({}, undefined, { now: () => now });
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const user = browser(service.app);
    for (let i = 0; i < 5; i++)
      expect((await user.signIn('/admin', 'alice', `guess ${i}`)).statusCode).toBe(401);
    const blocked = await user.signIn('/admin', 'alice');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBe('900');
    expect(blocked.body).toContain('Too many failed sign-ins');
    now += 15 * 60_000;
    expect((await user.signIn('/admin', 'alice')).statusCode).toBe(303);
  });

  it('throttles an address that tries many names', async () => {
    service = await build();
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const user = browser(service.app);
    for (let i = 0; i < 20; i++)
      expect((await user.signIn('/admin', `name${i}`, 'guess')).statusCode).toBe(401);
    expect((await user.signIn('/admin', 'alice')).statusCode).toBe(429);
    // Another address is not held up.
    expect((await browser(service.app, {}, '203.0.113.9').signIn('/admin', 'alice')).statusCode).toBe(303);
  });

  it('lets read-only accounts see, not change, and masks numbers for them', async () => {
    service = await build();
    await addAccount(service.store.admin, 'robin', 'read-only', 'default');
    await service.store.calls.record({
      id: 'call-1',
      workflow: 'CallFlow',
      status: 'answered',
      direction: 'incoming',
      originatorNumber: '41215522000',
      destinationNumber: '41445556677',
      startedTime: '2026-11-26T10:00:00Z',
      answeredTime: '2026-11-26T10:00:07Z',
      inputs: {},
    });
    const user = browser(service.app);
    await user.signIn('/admin', 'robin');
    const calls = await user.get('/admin/calls');
    expect(calls.statusCode).toBe(200);
    expect(calls.body).not.toContain('41215522000');
    expect(calls.body).toContain('+41 21 *** ** 00');
    await service.importCsv('id,name,phone\n1,Alexa Holiday,021 552 20 00\n');
    const contacts = await user.get('/admin/contacts?q=alexa');
    expect(contacts.body).toContain('Alexa Holiday');
    expect(contacts.body).not.toContain('552 20 00');
    expect(contacts.body).not.toContain('+41215522000');
    expect(contacts.body).toContain('+41 21 *** ** 00');
    const connector = await user.get('/admin/connector');
    expect(connector.body).not.toContain('Show the value');
    const reveal = await user.submit('/admin/connector', '/admin/connector/reveal', {});
    expect(reveal.statusCode).toBe(403);
    expect(reveal.body).not.toContain('test-token');
  });

  it('serves each tenant its own console: an account of one opens nothing of another', async () => {
    service = await build({
      tenants: {
        acme: { basePath: '/acme', auth: { tokens: ['acme-token-0123456789'] } },
        globex: { basePath: '/globex', auth: { tokens: ['globex-token-0123456789'] } },
      },
    });
    const [acme, globex] = service.tenants;
    await addAccount(acme!.store.admin, 'alice', 'tenant', 'acme');
    await addAccount(globex!.store.admin, 'gina', 'tenant', 'globex');
    const user = browser(service.app);
    expect((await user.signIn('/acme/admin', 'alice')).headers.location).toBe('/acme/admin');
    expect((await user.get('/acme/admin')).statusCode).toBe(200);
    // The session cookie is the acme console's: globex sends to sign-in, and refuses alice there.
    expect((await user.get('/globex/admin')).headers.location).toBe('/globex/admin/sign-in');
    const session = user.jar.cookies.get('callcard_session')!;
    const forced = await service.app.inject({
      method: 'GET',
      url: '/globex/admin',
      headers: { cookie: `callcard_session=${session}` },
    });
    expect(forced.headers.location).toBe('/globex/admin/sign-in');
    expect((await user.signIn('/globex/admin', 'alice')).statusCode).toBe(401);
  });

  it('opens every tenant to a partner account, kept in the instance', async () => {
    service = await build({
      tenants: {
        acme: { basePath: '/acme', auth: { tokens: ['acme-token-0123456789'] } },
        globex: { basePath: '/globex', auth: { tokens: ['globex-token-0123456789'] } },
      },
    });
    const instance = openAdminStore(service.dataDir);
    try {
      await addAccount(instance, 'pat', 'partner', undefined);
    } finally {
      await instance.close();
    }
    for (const base of ['/acme/admin', '/globex/admin']) {
      const user = browser(service.app);
      expect((await user.signIn(base, 'pat')).headers.location).toBe(base);
      const overview = await user.get(base);
      expect(overview.statusCode).toBe(200);
      expect(overview.body).toContain('Signed in as pat (partner admin)');
      // The partner's overview leads to every tenant's console.
      expect(overview.body).toContain('href="/acme/admin"');
      expect(overview.body).toContain('href="/globex/admin"');
    }
    // A tenant admin's overview does not list the tenants.
    await addAccount(service.tenants[0]!.store.admin, 'alice', 'tenant', 'acme');
    const alice = browser(service.app);
    await alice.signIn('/acme/admin', 'alice');
    expect((await alice.get('/acme/admin')).body).not.toContain('href="/globex/admin"');
  });

  it('sets the Content-Security-Policy and a Secure cookie over HTTPS', async () => {
    service = await build({ trustProxy: true });
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const page = await service.app.inject({ method: 'GET', url: '/admin/sign-in' });
    const policy = String(page.headers['content-security-policy']);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(page.headers['x-frame-options']).toBeDefined();
    const user = browser(service.app, { 'x-forwarded-proto': 'https' });
    const signed = await user.signIn('/admin', 'alice');
    const cookie = [signed.headers['set-cookie']]
      .flat()
      .find((line) => String(line).startsWith('callcard_session='));
    expect(cookie).toMatch(/Secure/);
  });
});

describe('the console on its own listener (admin.port)', () => {
  it('is served there only, not beside the API', async () => {
    const service = await build({ admin: { port: 9999 } });
    try {
      await addAccount(service.store.admin, 'alice', 'tenant', 'default');
      expect((await service.app.inject({ method: 'GET', url: '/admin/sign-in' })).statusCode).toBe(404);
      const consoleApp = service.consoleApp!;
      expect((await consoleApp.inject({ method: 'GET', url: '/admin/sign-in' })).statusCode).toBe(200);
      // The API is not on the console's listener.
      const lookup = await consoleApp.inject({ method: 'POST', url: '/Lookup', payload: {} });
      expect(lookup.statusCode).toBe(404);
      const user = browser(consoleApp);
      expect((await user.signIn('/admin', 'alice')).headers.location).toBe('/admin');
      expect((await user.get('/admin/calls')).statusCode).toBe(200);
    } finally {
      await service.close();
    }
  });
});

describe("the console's sync now", () => {
  it('starts a mirrored source sync for an admin, not for a read-only account', async () => {
    const dir = tempDir();
    const file = join(dir.path, 'crm.csv');
    writeFileSync(file, 'id,name,phone\n7,Carla Rossi,044 555 66 77\n');
    const service = await build({
      sources: [{ type: 'embedded' }, { type: 'file', name: 'crm', path: file }],
    });
    try {
      await addAccount(service.store.admin, 'alice', 'tenant', 'default');
      await addAccount(service.store.admin, 'robin', 'read-only', 'default');
      const robin = browser(service.app);
      await robin.signIn('/admin', 'robin');
      expect((await robin.get('/admin')).body).not.toContain('/admin/sources/sync');
      expect((await robin.submit('/admin', '/admin/sources/sync', { source: 'crm' })).statusCode).toBe(403);
      expect(await service.store.contacts.syncState('crm')).toBeUndefined();

      const alice = browser(service.app);
      await alice.signIn('/admin', 'alice');
      expect((await alice.get('/admin')).body).toContain('first sync not done');
      const started = await alice.submit('/admin', '/admin/sources/sync', { source: 'crm', full: '1' });
      expect(started.headers.location).toBe('/admin?notice=sync-started');
      await expect
        .poll(async () => (await service.store.contacts.syncState('crm'))?.succeededAt)
        .toBeDefined();
      const overview = await alice.get(started.headers.location as string);
      expect(overview.body).toContain('The sync has started');
      expect(overview.body).toMatch(
        /data-source="crm"><th scope="row">crm<\/th><td>mirror<\/td><td data-cell="contacts">1<\/td>/,
      );
      const refused = await alice.submit('/admin', '/admin/sources/sync', { source: 'contacts' });
      expect(refused.headers.location).toBe('/admin?notice=sync-refused');
      const actions = (await service.store.admin.auditLog({ limit: 10 })).entries.map(
        (entry) => entry.action,
      );
      expect(actions).toContain('source-sync-full');
    } finally {
      await service.close();
      dir.remove();
    }
  });
});

describe("the console's call journal", () => {
  it('pages through the journal with its cursor, filters kept', async () => {
    const service = await build();
    try {
      await addAccount(service.store.admin, 'alice', 'tenant', 'default');
      for (let i = 0; i < 55; i++) {
        await service.store.calls.record({
          id: `call-${String(i).padStart(2, '0')}`,
          workflow: 'CallFlow',
          status: 'missed',
          direction: i % 5 === 0 ? 'outgoing' : 'incoming',
          originatorNumber: '41215522000',
          startedTime: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(),
          inputs: {},
        });
      }
      const user = browser(service.app);
      await user.signIn('/admin', 'alice');
      const ids = (html: string) => [...html.matchAll(/data-call="([^"]+)"/g)].map((match) => match[1]);
      const first = await user.get('/admin/calls');
      expect(ids(first.body)).toHaveLength(50);
      expect(ids(first.body)[0]).toBe('call-54');
      const next = /<a rel="next" href="([^"]+)"/.exec(first.body)?.[1]?.replaceAll('&amp;', '&');
      expect(next).toMatch(/^\/admin\/calls\?after=/);
      const second = await user.get(next!);
      expect(ids(second.body)).toEqual(['call-04', 'call-03', 'call-02', 'call-01', 'call-00']);
      expect(second.body).not.toContain('rel="next"');
      // A filter stays on the next page's link.
      const outgoing = await user.get('/admin/calls?direction=outgoing');
      expect(ids(outgoing.body)).toHaveLength(11);
      const missed = await user.get('/admin/calls?status=missed');
      expect(/<a rel="next" href="([^"]+)"/.exec(missed.body)?.[1]).toMatch(
        /^\/admin\/calls\?status=missed&amp;after=/,
      );
      // The export: every call the filters match, across pages, numbers masked only for read-only.
      const csv = await user.get('/admin/calls.csv?status=missed');
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      const lines = csv.body.trimEnd().split('\r\n');
      expect(lines[0]).toMatch(/^id,workflow,time,direction,status,originatorNumber,/);
      expect(lines).toHaveLength(56);
      expect(lines[1]).toMatch(/^call-54,CallFlow,2026-11-01T00:54:00\.000Z,incoming,missed,41215522000,/);
      expect(first.body).toContain('href="/admin/calls.csv"');
      await addAccount(service.store.admin, 'robin', 'read-only', 'default');
      const robin = browser(service.app);
      await robin.signIn('/admin', 'robin');
      const masked = await robin.get('/admin/calls.csv?direction=outgoing');
      expect(masked.body).not.toContain('41215522000');
      expect(masked.body.trimEnd().split('\r\n')).toHaveLength(12);
      expect(masked.body).toContain('+41 21 *** ** 00');
      const actions = (await service.store.admin.auditLog({ limit: 20 })).entries.map(
        (entry) => entry.action,
      );
      expect(actions.filter((action) => action === 'calls-export')).toHaveLength(2);
      // A cursor that is not one of ours starts over; bad filters are a 400 with a message.
      expect((await user.get('/admin/calls?after=nonsense')).headers.location).toBe('/admin/calls');
      const bad = await user.get('/admin/calls?from=26.11.2026');
      expect(bad.statusCode).toBe(400);
      expect(bad.body).toContain('A date is not valid');
    } finally {
      await service.close();
    }
  });
});
