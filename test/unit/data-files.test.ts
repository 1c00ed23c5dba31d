import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { build, type TestService, tempDir } from '../support/helper.js';

/** Every directory and file under `dir`, with its permission bits. */
function modes(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const visit = (path: string, name: string) => {
    const stat = statSync(path);
    found[name] = (stat.mode & 0o777).toString(8).padStart(4, '0');
    if (stat.isDirectory())
      for (const entry of readdirSync(path)) visit(join(path, entry), `${name}/${entry}`);
  };
  visit(dir, '.');
  return found;
}

describe('the data directory', () => {
  let service: TestService | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  const umask = process.umask();
  afterEach(async () => {
    process.umask(umask);
    await service?.close();
    service = undefined;
    dir?.remove();
  });

  for (const mask of [0o022, 0o000]) {
    it(`is readable by callcard's user only, whatever the umask (${mask.toString(8).padStart(3, '0')})`, async () => {
      process.umask(mask);
      dir = tempDir();
      const dataDir = join(dir.path, 'data');
      // Two tenants without tokens: each gets a generated token file, a key, its stores.
      service = await build({
        dataDir,
        tenants: { acme: { basePath: '/acme' }, globex: { basePath: '/globex' } },
      });
      await service.importCsv('id,name,phone\na1,Anna,021 552 20 00\n', { tenant: 'acme' });
      const [acme] = service.tenants;
      const token = acme!.generatedToken!.value;
      const call = await service.app.inject({
        method: 'POST',
        url: '/acme/CallFlow',
        headers: { 'x-execution-token': token },
        payload: {
          inputs: {
            direction: 'incoming',
            originatorNumber: '41215522000',
            destinationNumber: '41445556677',
          },
        },
      });
      expect(call.statusCode).toBe(200);

      const found = modes(dataDir);
      // What callcard writes there, while it runs: stores with their WAL files, token, key.
      for (const tenant of ['acme', 'globex']) {
        for (const file of [
          'contacts.db',
          'contacts.db-wal',
          'calls.db',
          'calls.db-wal',
          'calls.db-shm',
          'credentials.db',
          'token',
          'secret',
        ]) {
          expect(found, `${tenant}/${file}`).toHaveProperty([`./${tenant}/${file}`]);
        }
      }
      const open = Object.entries(found).filter(
        ([name, mode]) =>
          !name.startsWith('./import-') &&
          mode !== (statSync(join(dataDir, name)).isDirectory() ? '0700' : '0600'),
      );
      expect(open).toEqual([]);
    });
  }

  it('tightens the files an older version left readable by others', async () => {
    dir = tempDir();
    const dataDir = join(dir.path, 'data');
    await openSqliteStore(dataDir).close();
    for (const file of ['contacts.db', 'calls.db']) chmodSync(join(dataDir, file), 0o644);
    const store = openSqliteStore(dataDir);
    try {
      expect(modes(dataDir)).toMatchObject({ './contacts.db': '0600', './calls.db': '0600' });
    } finally {
      await store.close();
    }
  });
});
