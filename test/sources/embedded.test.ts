import pino from 'pino';
import { createEmbeddedSource } from '../../src/sources/embedded/embedded-source.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helper.js';
import { sourceContract } from './contract.js';

sourceContract('embedded', async (contacts) => {
  const dir = tempDir();
  const store = openSqliteStore(dir.path);
  const session = await store.contacts.beginImport('contacts', { replace: true });
  await session.write(contacts);
  await session.commit();
  return {
    source: createEmbeddedSource(
      { name: 'contacts' },
      { store: store.contacts, logger: pino({ level: 'silent' }) },
    ),
    async teardown() {
      await store.close();
      dir.remove();
    },
  };
});
