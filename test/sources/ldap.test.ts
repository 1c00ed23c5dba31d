/**
 * The ldap source against a real OpenLDAP server: the private slapd that `.ci/services/slapd.sh`
 * starts on 127.0.0.1:3389 (or the one CALLCARD_TEST_LDAP_URL names). Each run works in an
 * organizational unit of its own, removed afterwards. Without the server the server-backed cases
 * are skipped with a message, and fail under CI=true.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { storedKeys } from '../../src/phone/index.js';
import {
  entryReader,
  formatGuid,
  generalizedTime,
  parseGeneralizedTime,
} from '../../src/sources/ldap/entry.js';
import { numberEnding } from '../../src/sources/ldap/filters.js';
import { createLdapSource, ldapSourceSchema } from '../../src/sources/ldap/ldap-source.js';
import type { SearchQuery, Source } from '../../src/sources/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { settled, tempDir } from '../support/helper.js';
import {
  describeWithServer,
  listAll,
  never,
  type Relay,
  relay,
  searchQuery,
  syncer,
} from '../support/sql.js';
import { listingContract, sourceContract } from './contract.js';

const LDAP_URL = (process.env['CALLCARD_TEST_LDAP_URL'] ?? 'ldap://127.0.0.1:3389').replace(/\/$/, '');
const BIND_DN = process.env['CALLCARD_TEST_LDAP_BIND_DN'] ?? 'cn=admin,dc=callcard,dc=test';
const PASSWORD = process.env['CALLCARD_TEST_LDAP_PASSWORD'] ?? 'admin';
const SUFFIX = process.env['CALLCARD_TEST_LDAP_BASE'] ?? 'dc=callcard,dc=test';
const target = new URL(LDAP_URL);
const LDAP_HOST = target.hostname;
const LDAP_PORT = Number(target.port || (target.protocol === 'ldaps:' ? 636 : 389));

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A source from the config as a user writes it, read through the real schema (defaults, checks). */
function ldapSource(
  config: Record<string, unknown>,
  options: { name?: string; timeoutMs?: number; baseDir?: string } = {},
): Source {
  const parsed = ldapSourceSchema.parse({
    type: 'ldap',
    url: LDAP_URL,
    bindDn: BIND_DN,
    password: PASSWORD,
    ...config,
  });
  return createLdapSource(
    { ...parsed, name: options.name ?? 'directory', timeoutMs: options.timeoutMs ?? 1500 },
    { logger, baseDir: options.baseDir ?? process.cwd() },
  );
}

/** Why the directory cannot be used, or undefined when it answers. */
async function ldapUnavailable(): Promise<string | undefined> {
  const client = new Client({ url: LDAP_URL, connectTimeout: 3000, timeout: 3000 });
  try {
    await client.bind(BIND_DN, PASSWORD);
    await client.search(SUFFIX, { scope: 'base' });
    return undefined;
  } catch (error) {
    return `OpenLDAP at ${LDAP_URL}: ${(error as Error).message} (start it with: bash .ci/services/slapd.sh)`;
  } finally {
    await client.unbind().catch(() => {});
  }
}

type Attributes = Record<string, string | string[]>;

/** The test's admin connection: adds, changes and removes the fixture entries. */
async function directory() {
  const client = new Client({ url: LDAP_URL, timeout: 10_000 });
  await client.bind(BIND_DN, PASSWORD);
  let n = 0;
  const self = {
    async add(dn: string, attributes: Attributes): Promise<string> {
      await client.add(dn, attributes);
      return dn;
    },
    /** A new organizational unit under `parent`. */
    async unit(parent: string, prefix = 'u'): Promise<string> {
      const name = `${prefix}${++n}`;
      return self.add(`ou=${name},${parent}`, { objectClass: ['organizationalUnit'], ou: name });
    },
    async person(parent: string, uid: string, attributes: Attributes): Promise<string> {
      const cn = (attributes['cn'] as string | undefined) ?? uid;
      return self.add(`uid=${uid},${parent}`, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid,
        cn,
        sn: cn.split(' ').at(-1)!,
        ...attributes,
      });
    },
    async replace(dn: string, type: string, values: string[]): Promise<void> {
      await client.modify(
        dn,
        new Change({ operation: 'replace', modification: new Attribute({ type, values }) }),
      );
    },
    async remove(dn: string): Promise<void> {
      await client.del(dn);
    },
    /** An entry and everything under it, the deepest first. */
    async removeTree(dn: string): Promise<void> {
      const { searchEntries } = await client
        .search(dn, { scope: 'sub', attributes: ['1.1'] })
        .catch(() => ({ searchEntries: [] }));
      const dns = searchEntries.map((entry) => entry.dn).sort((a, b) => b.length - a.length);
      for (const entry of dns) await client.del(entry);
    },
    close: () => client.unbind(),
  };
  return self;
}
type Directory = Awaited<ReturnType<typeof directory>>;

/** A relay in front of the directory, and the URL that reaches the directory through it. */
async function directoryRelay(): Promise<{ cut: Relay; url: string }> {
  const cut = await relay(LDAP_PORT, LDAP_HOST);
  return { cut, url: `${target.protocol}//127.0.0.1:${cut.port}` };
}

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const ids = (contacts: readonly RawContact[]) => contacts.map((contact) => contact.id).sort();

const unavailable = await ldapUnavailable();

describeWithServer('ldap source: OpenLDAP', unavailable, () => {
  let dir: Directory;
  /** This run's own unit; removed with everything in it at the end. */
  let run: string;

  beforeAll(async () => {
    dir = await directory();
    run = await dir.add(`ou=callcard-${process.pid}-${Math.random().toString(36).slice(2, 8)},${SUFFIX}`, {
      objectClass: ['organizationalUnit'],
      ou: 'callcard-test-run',
    });
  });
  afterAll(async () => {
    await dir?.removeTree(run);
    await dir?.close();
  });

  /** The suite's contacts as people: the first number in telephoneNumber, then mobile, homePhone. */
  async function contractPeople(contacts: readonly RawContact[], number = (value: string) => value) {
    const unit = await dir.unit(run, 'contract');
    for (const contact of contacts) {
      const [telephoneNumber, mobile, homePhone] = contact.phones.map((phone) => number(phone.value));
      await dir.person(unit, contact.id!, {
        cn: contact.name!,
        ...(contact.company && { o: contact.company }),
        ...(telephoneNumber && { telephoneNumber }),
        ...(mobile && { mobile }),
        ...(homePhone && { homePhone }),
      });
    }
    return unit;
  }

  /** How a directory that normalises numbers keeps them: `+41 21 552 20 00`; internal numbers as they are. */
  const normalised = (value: string) => {
    const key = storedKeys(value, 'CH')[0];
    return (key?.startsWith('+') && parsePhoneNumberFromString(key)?.formatInternational()) || value;
  };

  const contractSource =
    (mode: 'mirror' | 'live', settings: Record<string, unknown> = {}, number?: (value: string) => string) =>
    async (contacts: readonly RawContact[]) => {
      const unit = await contractPeople(contacts, number);
      const { cut, url } = await directoryRelay();
      const source = ldapSource({ url, baseDn: unit, attributes: { id: 'uid' }, ...settings });
      return {
        source,
        mode,
        down: () => cut.close(),
        teardown: async () => {
          await cut.close();
          await dir.removeTree(unit);
        },
      };
    };

  // Numbers as people type them; the local index reads every format.
  sourceContract('ldap (mirror)', contractSource('mirror'));
  // Live over a directory that keeps numbers in the international format.
  sourceContract('ldap (live)', contractSource('live', {}, normalised));
  // Live with suffix matching over numbers as people type them (`+41 (0)21 552 20 00` included).
  sourceContract('ldap (live, suffix)', contractSource('live', { liveMatch: 'suffix' }));

  describe('attribute mapping', () => {
    let unit: string;
    let contacts: RawContact[];
    const started = Date.now();

    beforeAll(async () => {
      unit = await dir.unit(run, 'mapping');
      await dir.person(unit, 'alexa', {
        cn: 'Alexa Holiday',
        displayName: 'Alexa Holiday (Sales)',
        o: 'White Cross Co',
        telephoneNumber: ['021 552 20 00', '021 552 20 01'],
        mobile: '079 123 45 67',
        homePhone: '044 111 22 33',
        mail: ['alexa@example.com', 'a.holiday@example.com'],
        title: 'Head of Sales',
      });
      await dir.person(unit, 'bruno', { cn: 'Bruno Keller', mobile: '+41 79 765 43 21' });
      await dir.person(unit, 'carla', { cn: 'Carla Nophone', mail: 'carla@example.com' });
      const source = ldapSource({
        baseDn: unit,
        custom: { 'E-mail': 'mail', Title: 'title' },
        contactUri: 'https://intranet.example.ch/people/{uid}?company={o}',
      });
      try {
        contacts = await listAll(source);
      } finally {
        await source.close!();
      }
    });

    it('lists people with a phone only, by default', () => {
      expect(contacts).toHaveLength(2);
      expect(contacts.map((contact) => contact.name).sort()).toEqual([
        'Alexa Holiday (Sales)',
        'Bruno Keller',
      ]);
    });

    it('takes displayName before cn, the company from o, and labels each number by its attribute', () => {
      const alexa = contacts.find((contact) => contact.name === 'Alexa Holiday (Sales)')!;
      expect(alexa).toMatchObject({
        company: 'White Cross Co',
        phones: [
          { value: '021 552 20 00', label: 'telephoneNumber' },
          { value: '021 552 20 01', label: 'telephoneNumber' },
          { value: '079 123 45 67', label: 'mobile' },
          { value: '044 111 22 33', label: 'homePhone' },
        ],
        customData: { 'E-mail': 'alexa@example.com, a.holiday@example.com', Title: 'Head of Sales' },
        contactUri: 'https://intranet.example.ch/people/alexa?company=White%20Cross%20Co',
      });
      const bruno = contacts.find((contact) => contact.name === 'Bruno Keller')!;
      expect(bruno.company).toBeUndefined();
      expect(bruno.phones).toEqual([{ value: '+41 79 765 43 21', label: 'mobile' }]);
      expect(bruno.customData).toEqual({});
      // Its template needs `o`, which Bruno has not: no link rather than a broken one.
      expect(bruno.contactUri).toBeUndefined();
    });

    it('uses entryUUID as the id and modifyTimestamp as the time of the last change', () => {
      for (const contact of contacts) {
        expect(contact.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        // To the second, by the server's clock (the same machine's).
        expect(contact.updatedAt).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000 - 60_000);
        expect(contact.updatedAt).toBeLessThanOrEqual(Date.now() + 60_000);
      }
      expect(new Set(ids(contacts)).size).toBe(2);
    });

    it('uses the DN when no id attribute has a value, and a filter and attributes of your own', async () => {
      const source = ldapSource({
        baseDn: unit,
        filter: '(objectClass=inetOrgPerson)',
        attributes: { id: 'employeeNumber', name: 'cn', phones: ['mobile'] },
      });
      try {
        const listed = await listAll(source);
        expect(listed.map((contact) => [contact.id, contact.name, contact.phones.length]).sort()).toEqual([
          [`uid=alexa,${unit}`, 'Alexa Holiday', 1],
          [`uid=bruno,${unit}`, 'Bruno Keller', 1],
          [`uid=carla,${unit}`, 'Carla Nophone', 0],
        ]);
      } finally {
        await source.close!();
      }
    });
  });

  describe('numbers as people write them', () => {
    // One person per format, all the same number. Mirror finds every one; live finds the forms
    // a directory search can compare (OpenLDAP ignores spaces and hyphens in telephone numbers).
    const FORMATS = [
      { uid: 'f1', number: '+41 21 552 20 00', exact: true, suffix: true },
      { uid: 'f2', number: '021 552 20 00', exact: true, suffix: true },
      { uid: 'f3', number: '0041 21 5522000', exact: true, suffix: true },
      { uid: 'f4', number: '+41-21-552-20-00', exact: true, suffix: true },
      { uid: 'f5', number: '+41215522000', exact: true, suffix: true },
      { uid: 'f6', number: '+41 (0)21 552 20 00', exact: false, suffix: true },
      { uid: 'f7', number: '021/552 20 00', exact: false, suffix: false },
      { uid: 'f8', number: '021.552.20.00', exact: false, suffix: false },
    ];
    let unit: string;

    beforeAll(async () => {
      unit = await dir.unit(run, 'formats');
      for (const { uid, number } of FORMATS)
        await dir.person(unit, uid, { cn: `Format ${uid}`, telephoneNumber: number });
      // Another country's number with the same last digits: found by the suffix search, dropped by the core.
      await dir.person(unit, 'fr', { cn: 'Claire Dubois', telephoneNumber: '+33 2 15 52 20 00' });
    });

    it('mirror: every format is found through the local index', async () => {
      const dataDir = tempDir();
      const store = openSqliteStore(dataDir.path);
      const source = ldapSource({ baseDn: unit, attributes: { id: 'uid' } });
      try {
        const sync = syncer(store, source);
        expect((await sync.sync()).error).toBeUndefined();
        expect(await sync.ids('+41215522000')).toEqual(FORMATS.map((format) => format.uid).sort());
        expect(await sync.ids('+33215522000')).toEqual(['fr']);
      } finally {
        await source.close!();
        await store.close();
        dataDir.remove();
      }
    });

    for (const liveMatch of ['exact', 'suffix'] as const) {
      it(`live, ${liveMatch}: finds ${FORMATS.filter((format) => format[liveMatch])
        .map((format) => `"${format.number}"`)
        .join(', ')}`, async () => {
        const source = ldapSource({ baseDn: unit, attributes: { id: 'uid' }, liveMatch });
        try {
          const found = await source.search!(searchQuery('+41215522000', 20), { signal: never() });
          const expected = FORMATS.filter((format) => format[liveMatch]).map((format) => format.uid);
          // The suffix search over-matches the French number; the core's re-check drops it.
          expect(ids(found).filter((id) => id !== 'fr')).toEqual(expected.sort());
        } finally {
          await source.close!();
        }
      });
    }
  });

  describe('listing', () => {
    let unit: string;
    beforeAll(async () => {
      unit = await dir.unit(run, 'listing');
      for (let i = 1; i <= 5; i++)
        await dir.person(unit, `p${i}`, { cn: `Person ${i}`, telephoneNumber: `044 000 00 0${i}` });
    });

    it('reads page by page with the paged results control: page size 2 over 5 entries gives them all', async () => {
      const source = ldapSource({ baseDn: unit, attributes: { id: 'uid' }, pageSize: 2 });
      try {
        const batches: string[][] = [];
        for await (const batch of source.list!({ signal: never() })) batches.push(ids(batch) as string[]);
        expect(batches.map((batch) => batch.length)).toEqual([2, 2, 1]);
        expect(batches.flat().sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      } finally {
        await source.close!();
      }
    });

    it('scope one reads only the entries right under baseDn', async () => {
      const below = await dir.unit(unit, 'deeper');
      await dir.person(below, 'deep', { cn: 'Deep Down', telephoneNumber: '044 000 00 09' });
      const one = ldapSource({ baseDn: unit, attributes: { id: 'uid' }, scope: 'one' });
      const sub = ldapSource({ baseDn: unit, attributes: { id: 'uid' } });
      try {
        expect(ids(await listAll(one))).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
        expect(ids(await listAll(sub))).toEqual(['deep', 'p1', 'p2', 'p3', 'p4', 'p5']);
      } finally {
        await one.close!();
        await sub.close!();
        await dir.removeTree(below);
      }
    });

    listingContract('ldap, five entries in pages of one', async () => {
      const { cut, url } = await directoryRelay();
      return {
        source: ldapSource({ url, baseDn: unit, attributes: { id: 'uid' }, pageSize: 1 }),
        rows: 5,
        down: () => cut.close(),
        teardown: () => cut.close(),
      };
    });
  });

  describe('syncs', () => {
    it('with since, lists only the entries changed since then', async () => {
      const unit = await dir.unit(run, 'changes');
      for (const uid of ['c1', 'c2', 'c3'])
        await dir.person(unit, uid, { cn: `Changed ${uid}`, telephoneNumber: '044 123 45 67' });
      // modifyTimestamp counts whole seconds: let the creations fall in an earlier one.
      await sleep(1100);
      const since = Date.now();
      await dir.replace(`uid=c2,${unit}`, 'mobile', ['079 555 66 77']);
      const source = ldapSource({ baseDn: unit, attributes: { id: 'uid' } });
      try {
        const changed = await listAll(source, since);
        expect(ids(changed)).toEqual(['c2']);
        expect(changed[0]!.phones.map((phone) => phone.value)).toEqual(['044 123 45 67', '079 555 66 77']);
        expect(changed[0]!.updatedAt).toBeGreaterThanOrEqual(Math.floor(since / 1000) * 1000);
        expect(ids(await listAll(source))).toEqual(['c1', 'c2', 'c3']);
      } finally {
        await source.close!();
      }
    });

    it('a full sync removes a person deleted from the directory; one without phone is never mirrored', async () => {
      const unit = await dir.unit(run, 'removal');
      await dir.person(unit, 'stays', { cn: 'Stays Here', telephoneNumber: '044 200 00 01' });
      const leaver = await dir.person(unit, 'leaves', { cn: 'Leaves Soon', mobile: '079 200 00 02' });
      await dir.person(unit, 'silent', { cn: 'No Number', mail: 'silent@example.com' });
      const dataDir = tempDir();
      const store = openSqliteStore(dataDir.path);
      const source = ldapSource({ baseDn: unit, attributes: { id: 'uid' } });
      try {
        const sync = syncer(store, source);
        expect(await sync.sync({ full: true })).toMatchObject({ written: 2, skipped: 0 });
        expect(await sync.ids('+41792000002')).toEqual(['leaves']);
        await dir.remove(leaver);
        expect(await sync.sync({ full: true })).toMatchObject({ full: true, written: 1 });
        expect(await sync.ids('+41792000002')).toEqual([]);
        expect(await sync.ids('+41442000001')).toEqual(['stays']);
      } finally {
        await source.close!();
        await store.close();
        dataDir.remove();
      }
    });
  });

  describe('live search', () => {
    let unit: string;
    beforeAll(async () => {
      unit = await dir.unit(run, 'live');
      await dir.person(unit, 'l1', { cn: 'Lena Live', telephoneNumber: '+41 21 552 20 00' });
      await dir.person(unit, 'l2', { cn: 'Leo Live', mobile: '+41 79 123 45 67' });
    });

    /** A query whose number forms are whatever text an attacker chose. */
    const hostile = (value: string): SearchQuery => ({
      key: '+41215522000',
      forms: { e164: value, digits: value, national: value, international: value },
      region: 'CH',
      limit: 10,
    });

    it('sends numbers as values, never as filter syntax: `*`, `(`, `)` and `\\` cannot widen the search', async () => {
      for (const liveMatch of ['exact', 'suffix']) {
        const source = ldapSource({ baseDn: unit, attributes: { id: 'uid' }, liveMatch });
        try {
          // The same source does find by a real number.
          expect(ids(await source.search!(searchQuery('+41215522000'), { signal: never() }))).toEqual(['l1']);
          for (const value of [
            '*',
            '*)(objectClass=*',
            '*)(|(cn=*',
            '\\2a',
            '0215522000)(cn=*',
            '*215522000',
          ]) {
            expect(await source.search!(hostile(value), { signal: never() })).toEqual([]);
          }
        } finally {
          await source.close!();
        }
      }
    });

    it('keeps one connection, and opens it again after the server dropped it', async () => {
      const { cut, url } = await directoryRelay();
      const source = ldapSource({ url, baseDn: unit, attributes: { id: 'uid' } });
      try {
        expect(ids(await source.search!(searchQuery('+41791234567'), { signal: never() }))).toEqual(['l2']);
        cut.drop();
        await sleep(50);
        expect(ids(await source.search!(searchQuery('+41215522000'), { signal: never() }))).toEqual(['l1']);
      } finally {
        await source.close!();
        await cut.close();
      }
    });

    it('after close, searches fail and nothing is left open', async () => {
      const source = ldapSource({ baseDn: unit, attributes: { id: 'uid' } });
      await source.search!(searchQuery('+41215522000'), { signal: never() });
      await source.close!();
      await expect(source.search!(searchQuery('+41215522000'), { signal: never() })).rejects.toThrow(
        /closed/,
      );
    });
  });

  describe('errors a person can act on', () => {
    const WRONG = 'Wrong-Secret-4711';

    it('a wrong password: the bind is refused by name, and the password appears nowhere', async () => {
      const source = ldapSource({ baseDn: SUFFIX, password: WRONG });
      try {
        for (const call of [
          () => listAll(source),
          () => source.search!(searchQuery('+41215522000'), { signal: never() }),
        ]) {
          const { error } = await settled(call(), 'a call with a wrong password');
          expect(error).toBeInstanceOf(Error);
          const message = (error as Error).message;
          expect(message).toContain(`bind as "${BIND_DN}" refused: invalid credentials`);
          expect(message).toContain(LDAP_URL);
          expect(`${message} ${String((error as Error).cause)} ${JSON.stringify(error)}`).not.toContain(
            WRONG,
          );
        }
      } finally {
        await source.close!();
      }
    });

    it('no server: says it cannot connect', async () => {
      const source = ldapSource({ url: `ldap://127.0.0.1:${await closedPort()}`, baseDn: SUFFIX });
      try {
        await expect(listAll(source)).rejects.toThrow(/cannot connect: .*ECONNREFUSED/);
        await expect(source.search!(searchQuery('+41215522000'), { signal: never() })).rejects.toThrow(
          /cannot connect/,
        );
      } finally {
        await source.close!();
      }
    });

    it('a baseDn that does not exist', async () => {
      const source = ldapSource({ baseDn: `ou=nowhere,${SUFFIX}` });
      try {
        await expect(listAll(source)).rejects.toThrow(/ou=nowhere.*no such entry: check baseDn/);
      } finally {
        await source.close!();
      }
    });

    it('reads the password from a file; a missing variable or password stops the start, by name', async () => {
      const files = tempDir();
      try {
        writeFileSync(join(files.path, 'ldap.password'), `${PASSWORD}\n`);
        const source = ldapSource(
          {
            baseDn: SUFFIX,
            password: undefined,
            passwordFile: 'ldap.password',
            filter: '(objectClass=dcObject)',
          },
          { baseDir: files.path },
        );
        try {
          expect(await listAll(source)).toHaveLength(1);
        } finally {
          await source.close!();
        }
        expect(() =>
          ldapSource({ baseDn: SUFFIX, password: undefined, passwordEnv: 'CALLCARD_TEST_NO_SUCH_VARIABLE' }),
        ).toThrow(
          'source "directory": passwordEnv: environment variable CALLCARD_TEST_NO_SUCH_VARIABLE is not set',
        );
        expect(() => ldapSource({ baseDn: SUFFIX, password: undefined })).toThrow(/bindDn needs password/);
        expect(() => ldapSource({ baseDn: SUFFIX, password: PASSWORD, passwordEnv: 'X' })).toThrow(
          /give only one of password, passwordEnv/,
        );
      } finally {
        files.remove();
      }
    });
  });
});

describe('ldap source: Active Directory values', () => {
  it('formats objectGUID bytes as the GUID Windows shows', () => {
    // Microsoft's documentation of the WS-AtomicTransaction protocol ([MS-WSRVCAT] 2.2.2.2.4) gives
    // these bytes as the binary form of GUID cc228cf4-a9c8-43fc-8281-8565eb5889f2: the GUID packet
    // representation of [MS-DTYP] 2.3.4.2, whose Data1, Data2 and Data3 are little-endian.
    const bytes = Buffer.from('f48c22ccc8a9fc4382818565eb5889f2', 'hex');
    expect(formatGuid(bytes)).toBe('cc228cf4-a9c8-43fc-8281-8565eb5889f2');
    // [MS-DTYP] 2.3.4.3's example GUID, laid out by the same packet representation.
    expect(formatGuid(Buffer.from('ae4f1df8ec7dd011a76500a0c91e6bf6', 'hex'))).toBe(
      'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    );
    expect(() => formatGuid(Buffer.alloc(15))).toThrow(/16 bytes/);
  });

  it('maps an AD user: objectGUID as id, company, whenChanged, several phones', () => {
    // No AD here: the client's entry as AD answers it, read by a source that is never connected.
    const read = entryReader({
      id: ['entryUUID', 'objectGUID'],
      name: ['displayName', 'cn'],
      company: ['o', 'company'],
      phones: ['telephoneNumber', 'mobile', 'homePhone', 'otherTelephone'],
      updatedAt: ['modifyTimestamp', 'whenChanged'],
      country: 'c',
      custom: { Department: 'department' },
      contactUri: 'https://intranet.example.ch/people/{id}',
    });
    const contact = read({
      dn: 'CN=Alexa Holiday,OU=Sales,DC=example,DC=ch',
      objectGUID: Buffer.from('f48c22ccc8a9fc4382818565eb5889f2', 'hex'),
      displayName: 'Alexa Holiday',
      company: 'White Cross Co',
      telephoneNumber: '+41 21 552 20 00',
      otherTelephone: ['+41 21 552 20 01', '+41 21 552 20 02'],
      whenChanged: '20141006133000.0Z',
      c: 'CH',
      department: 'Sales',
      entryUUID: [],
    });
    expect(contact).toEqual({
      id: 'cc228cf4-a9c8-43fc-8281-8565eb5889f2',
      name: 'Alexa Holiday',
      company: 'White Cross Co',
      country: 'CH',
      phones: [
        { value: '+41 21 552 20 00', label: 'telephoneNumber' },
        { value: '+41 21 552 20 01', label: 'otherTelephone' },
        { value: '+41 21 552 20 02', label: 'otherTelephone' },
      ],
      customData: { Department: 'Sales' },
      updatedAt: Date.UTC(2014, 9, 6, 13, 30, 0),
      contactUri: 'https://intranet.example.ch/people/cc228cf4-a9c8-43fc-8281-8565eb5889f2',
    });
  });

  it.each([
    ['20261127015550Z', Date.UTC(2026, 10, 27, 1, 55, 50)],
    ['20141006133000.0Z', Date.UTC(2014, 9, 6, 13, 30, 0)],
    ['20141006133000.25Z', Date.UTC(2014, 9, 6, 13, 30, 0, 250)],
    ['201410061330Z', Date.UTC(2014, 9, 6, 13, 30)],
    ['20141006133000+0200', Date.UTC(2014, 9, 6, 11, 30, 0)],
    ['20141006133000-05', Date.UTC(2014, 9, 6, 18, 30, 0)],
    ['yesterday', undefined],
  ])('reads the generalized time %s', (text, ms) => {
    expect(parseGeneralizedTime(text)).toBe(ms);
  });

  it('writes times for filters to the second, in the form AD documents', () => {
    expect(generalizedTime(Date.UTC(2026, 10, 27, 1, 55, 50, 999))).toBe('20261127015550.0Z');
  });

  it.each([
    ['+41215522000', '215522000'],
    ['+390612345678', '0612345678'],
    ['+74951234567', '4951234567'],
    ['#2001', undefined],
  ])('the ending that every written form of %s shares: %s', (key, ending) => {
    expect(numberEnding(searchQuery(key).forms)).toBe(ending);
  });
});

describe('ldap source: configuration', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());

  const load = (yaml: string) => {
    const file = join(dir.path, 'callcard.yaml');
    writeFileSync(file, yaml);
    return loadConfig({ file, env: {} });
  };

  it('takes an OpenLDAP and an Active Directory source as docs/sources.md shows them', () => {
    const config = load(
      [
        'sources:',
        '  - type: ldap',
        '    name: openldap',
        '    url: ldaps://ldap.example.ch',
        '    bindDn: cn=callcard,ou=services,dc=example,dc=ch',
        '    passwordFile: /etc/callcard/ldap.password',
        '    baseDn: ou=people,dc=example,dc=ch',
        '    custom: { E-mail: mail }',
        '    contactUri: https://intranet.example.ch/people/{uid}',
        '    tls: { caFile: /etc/ssl/certs/example-ca.pem }',
        '  - type: ldap',
        '    name: ad',
        '    url: ldap://dc1.example.local',
        '    bindDn: callcard@example.local',
        '    passwordEnv: AD_PASSWORD',
        '    baseDn: OU=Staff,DC=example,DC=local',
        "    filter: '(&(objectCategory=person)(|(telephoneNumber=*)(mobile=*))(!(userAccountControl:1.2.840.113556.1.4.803:=2)))'",
        '    attributes:',
        '      phones: [telephoneNumber, mobile, homePhone, otherTelephone, ipPhone]',
        '      country: c',
        '    tls: { startTls: true }',
        '    pageSize: 1000',
      ].join('\n'),
    );
    const [openldap, ad] = config.tenants[0]!.sources;
    expect(openldap).toMatchObject({
      type: 'ldap',
      url: 'ldaps://ldap.example.ch',
      scope: 'sub',
      pageSize: 500,
      liveMatch: 'exact',
      attributes: {
        id: ['entryUUID', 'objectGUID'],
        name: ['displayName', 'cn'],
        company: ['o', 'company'],
        phones: ['telephoneNumber', 'mobile', 'homePhone'],
        updatedAt: ['modifyTimestamp', 'whenChanged'],
      },
      tls: { caFile: '/etc/ssl/certs/example-ca.pem', rejectUnauthorized: true, startTls: false },
    });
    expect(ad).toMatchObject({
      type: 'ldap',
      pageSize: 1000,
      attributes: {
        phones: ['telephoneNumber', 'mobile', 'homePhone', 'otherTelephone', 'ipPhone'],
        country: 'c',
      },
      tls: { startTls: true },
    });
  });

  it('reports wrong settings by their path', () => {
    let error: unknown;
    try {
      loadConfig({
        env: {},
        overrides: {
          sources: [
            {
              type: 'ldap',
              url: 'http://ldap.example.ch',
              scope: 'base',
              filter: '(cn=unclosed',
              attributes: { phones: [], phone: 'mobile' },
              custom: { 'E-mail': 'not an attribute' },
              contactUri: 'https://intranet.example.ch/{no such}',
              tls: { startTLS: true },
              pageSize: 0,
              liveMatch: 'fuzzy',
            } as never,
          ],
        },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^sources\.0\.url: must be ldap:\/\/host\[:port\] or ldaps:\/\/host\[:port\]$/m);
    expect(problems).toMatch(/^sources\.0\.baseDn: /m);
    expect(problems).toMatch(/^sources\.0\.scope: /m);
    expect(problems).toMatch(/^sources\.0\.filter: not an LDAP filter/m);
    expect(problems).toMatch(/^sources\.0\.attributes: Unrecognized key: "phone"/m);
    expect(problems).toMatch(/^sources\.0\.attributes\.phones: .*at least one attribute/m);
    expect(problems).toMatch(/^sources\.0\.custom\.E-mail: must be an LDAP attribute name/m);
    expect(problems).toMatch(/^sources\.0\.contactUri: \{no such\} is not an attribute name/m);
    expect(problems).toMatch(/^sources\.0\.tls: Unrecognized key: "startTLS"/m);
    expect(problems).toMatch(/^sources\.0\.pageSize: /m);
    expect(problems).toMatch(/^sources\.0\.liveMatch: /m);
  });
});
