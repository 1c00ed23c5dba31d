import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadContacts } from '../../src/contacts/load.js';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';

const SWITCHBOARD = '021 552 20 00';
const KEY = '+41215522000';

describe('the embedded index: contacts of one number', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;

  beforeEach(() => {
    dir = tempDir('callcard-store-');
    store = openSqliteStore(dir.path);
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  const load = async (contacts: RawContact[]) => {
    async function* entries() {
      let line = 0;
      for (const raw of contacts) yield { line: ++line, raw };
    }
    await loadContacts(store.contacts, entries(), { source: 'crm', replace: true, region: 'CH' });
  };
  const person = (id: string, ...phones: string[]): RawContact => ({
    id,
    name: id,
    phones: phones.map((value) => ({ value })),
    customData: {},
  });

  it('puts those whose main number it is first, also when more than 200 contacts share it', async () => {
    // 300 contacts have the switchboard as second number; the last three, stored after them, as main number.
    const contacts = Array.from({ length: 300 }, (_, i) =>
      person(`s${String(i).padStart(3, '0')}`, `079 ${String(1_000_000 + i).slice(1)}`, SWITCHBOARD),
    );
    contacts.push(
      person('main-1', SWITCHBOARD),
      person('main-2', SWITCHBOARD),
      person('main-3', SWITCHBOARD),
    );
    await load(contacts);
    const found = await store.contacts.findByKey('crm', KEY, 5);
    expect(found.slice(0, 3).map((match) => [match.id, match.primary])).toEqual(
      expect.arrayContaining([
        ['main-1', true],
        ['main-2', true],
        ['main-3', true],
      ]),
    );
    expect(found.slice(3).every((match) => !match.primary)).toBe(true);
    expect(found).toHaveLength(5);
  });

  it('answers every contact of a number held by a few, main numbers first', async () => {
    await load([
      person('a', '079 123 45 67', SWITCHBOARD),
      person('b', SWITCHBOARD),
      person('c', '021 552 20 01'),
    ]);
    const found = await store.contacts.findByKey('crm', KEY, 10);
    expect(found.map((match) => [match.id, match.primary])).toEqual([
      ['b', true],
      ['a', false],
    ]);
    expect(await store.contacts.findByKey('crm', '+41215522009', 10)).toEqual([]);
    expect(await store.contacts.findByKey('other', KEY, 10)).toEqual([]);
  });
});
