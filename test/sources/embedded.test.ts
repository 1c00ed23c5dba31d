import { loadContacts } from '../../src/contacts/load.js';
import { createEmbeddedSource } from '../../src/sources/embedded/embedded-source.js';
import { sourceContract } from './contract.js';

sourceContract('embedded', async (contacts, store) => {
  async function* entries() {
    let line = 0;
    for (const raw of contacts) yield { line: ++line, raw };
  }
  await loadContacts(store.contacts, entries(), { source: 'contacts', replace: true, region: 'CH' });
  return { source: createEmbeddedSource({ name: 'contacts' }), mode: 'embedded' };
});
