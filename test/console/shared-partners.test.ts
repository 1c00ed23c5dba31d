/**
 * Partner accounts with PostgreSQL: kept in the shared store, so that a partner added once signs in
 * on any instance, and a session opened on one is accepted by another. Needs the machine's
 * PostgreSQL: skipped with a message without it, a failure under CI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { adminQuery } from '../store/support.js';
import { runCli } from '../support/cli.js';
import { build, type TestService, tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';
import { browser } from './support.js';

const unavailable = await pgUnavailable();

describeWithServer('partner accounts on a shared PostgreSQL store', unavailable, () => {
  const schemas = { acme: uniqueName('cc_partner_acme'), globex: uniqueName('cc_partner_globex') };
  const services: TestService[] = [];
  const dir = tempDir();
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
    for (const schema of Object.values(schemas))
      await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    dir.remove();
  });

  it('a partner added once signs in on any instance, and each accepts the session', async () => {
    const tenants = {
      acme: {
        basePath: '/acme',
        auth: { tokens: ['acme-token-0123456789abcdef'] },
        store: { type: 'postgres' as const, url: pgUrl(), schema: schemas.acme },
      },
      globex: {
        basePath: '/globex',
        auth: { tokens: ['globex-token-0123456789abcdef'] },
        store: { type: 'postgres' as const, url: pgUrl(), schema: schemas.globex },
      },
    };
    // The command line, on a machine with a data directory of its own.
    const config = join(dir.path, 'callcard.yaml');
    writeFileSync(config, JSON.stringify({ dataDir: join(dir.path, 'data'), tenants }));
    const added = await runCli(['--config', config, 'admin', 'add', 'pat', '--role', 'partner'], {
      env: {},
      cwd: dir.path,
    });
    expect(added.code).toBe(0);
    const password = /\n {2}(\S+)\n$/.exec(added.stdout)![1]!;

    // Two instances, each with a data directory of its own (two machines).
    const a = await build({ tenants });
    services.push(a);
    const b = await build({ tenants });
    services.push(b);
    const pat = browser(a.app);
    const signedIn = await pat.signIn('/globex/admin', 'pat', password);
    expect(signedIn.statusCode).toBe(303);
    expect(signedIn.headers.location).toBe('/globex/admin/password');
    const changed = await pat.submit('/globex/admin/password', '/globex/admin/password', {
      password: 'a partner password 1',
      repeat: 'a partner password 1',
    });
    expect(changed.headers.location).toBe('/globex/admin');
    // The same cookie, on the other instance.
    const other = await b.app.inject({
      method: 'GET',
      url: '/globex/admin',
      headers: { cookie: pat.jar.header },
    });
    expect(other.statusCode).toBe(200);
    expect(other.body).toContain('Signed in as pat');
    // And the partner signs in to the other tenant on the other instance with the new password.
    const there = browser(b.app);
    expect((await there.signIn('/acme/admin', 'pat', 'a partner password 1')).headers.location).toBe(
      '/acme/admin',
    );
  });
});
