/**
 * The carddav source against a real Radicale server (`.ci/services/radicale.sh` starts one on
 * 127.0.0.1:5232), in address books made for this run and removed afterwards. A source that must
 * lose its server talks to it through a TCP relay, which `down()` closes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, type Socket, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import {
  type CarddavSourceOptions,
  carddavSourceSchema,
  createCarddavSource,
} from '../../src/sources/carddav/carddav-source.js';
import { readCards } from '../../src/sources/carddav/cards.js';
import { createSource } from '../../src/sources/registry.js';
import type { Source } from '../../src/sources/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { tempDir } from '../support/helper.js';
import { describeWithServer, relay } from '../support/sql.js';
import { sourceContract } from './contract.js';

const BASE = process.env['CALLCARD_TEST_CARDDAV_URL'] ?? 'http://127.0.0.1:5232/';
const USER = process.env['CALLCARD_TEST_CARDDAV_USER'] ?? 'callcard';
const PASSWORD = process.env['CALLCARD_TEST_CARDDAV_PASSWORD'] ?? 'callcard';
const AUTHORIZATION = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

const logger = pino({ level: 'silent' });
const never = () => new AbortController().signal;

// --- Plain WebDAV for the setup, apart from the source under test ----------------------------

async function request(
  method: string,
  url: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: AUTHORIZATION, ...options.headers },
    ...(options.body !== undefined && { body: options.body }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, text: await response.text() };
}

/** The first href inside the named property of a multi-status. */
const hrefIn = (xml: string, property: string) =>
  new RegExp(`<(?:\\w+:)?${property}\\b[^>]*>\\s*<(?:\\w+:)?href>([^<]+)<`).exec(xml)?.[1];

const propfind = (url: string, props: string) =>
  request('PROPFIND', url, {
    headers: { depth: '0', 'content-type': 'application/xml' },
    body: `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:prop>${props}</d:prop></d:propfind>`,
  });

interface Server {
  readonly principal: string;
  readonly home: string;
}

/** The test user's principal and address book home, or why the server cannot be used. */
async function findServer(): Promise<Server | string> {
  try {
    const root = await propfind(BASE, '<d:current-user-principal/>');
    if (root.status !== 207) return `CardDAV server at ${BASE}: PROPFIND answered HTTP ${root.status}`;
    const principal = new URL(hrefIn(root.text, 'current-user-principal') ?? '', BASE).href;
    const found = await propfind(principal, '<c:addressbook-home-set/>');
    const home = hrefIn(found.text, 'addressbook-home-set');
    if (!home) return `CardDAV server at ${BASE}: no addressbook-home-set for ${USER}`;
    return { principal, home: new URL(home, principal).href };
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    return `CardDAV server at ${BASE}: ${cause?.message ?? (error as Error).message}`;
  }
}

const server = await findServer();

/** Address books of this run: unique names, so runs side by side do not meet. */
const RUN = `cc-test-${process.pid}-${Date.now().toString(36)}`;
let books = 0;
const made = new Set<Book>();

interface Book {
  readonly url: string;
  /** Last path segment. */
  readonly segment: string;
  readonly displayName: string;
  put(file: string, vcard: string): Promise<void>;
  remove(file: string): Promise<void>;
  drop(): Promise<void>;
}

async function makeBook(label = 'book'): Promise<Book> {
  const { home } = server as Server;
  const segment = `${RUN}-${++books}`;
  const url = new URL(`${segment}/`, home).href;
  const displayName = `${RUN} ${label}`;
  const created = await request('MKCOL', url, {
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop>
      <d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>${displayName}</d:displayname>
      </d:prop></d:set></d:mkcol>`,
  });
  expect(created.status, created.text).toBe(201);
  const book: Book = {
    url,
    segment,
    displayName,
    async put(file, vcard) {
      const { status, text } = await request('PUT', new URL(file, url).href, {
        headers: { 'content-type': 'text/vcard; charset=utf-8' },
        body: vcard,
      });
      expect([201, 204], text).toContain(status);
    },
    async remove(file) {
      expect((await request('DELETE', new URL(file, url).href)).status).toBeLessThan(300);
    },
    async drop() {
      made.delete(book);
      await request('DELETE', url);
    },
  };
  made.add(book);
  return book;
}

// --- vCards ----------------------------------------------------------------------------------

const vcardText = (value: string) => value.replace(/\\/g, '\\\\').replace(/[,;]/g, (c) => `\\${c}`);

function vcard(contact: RawContact): string {
  return [
    'BEGIN:VCARD',
    'VERSION:3.0',
    `UID:${contact.id}`,
    `FN:${vcardText(contact.name ?? contact.company ?? '')}`,
    ...(contact.company ? [`ORG:${vcardText(contact.company)}`] : []),
    ...contact.phones.map((phone) => `TEL;TYPE=${phone.label ?? 'work'}:${phone.value}`),
    'END:VCARD',
    '',
  ].join('\r\n');
}

const person = (id: string, name: string, ...phones: string[]): RawContact => ({
  id,
  name,
  phones: phones.map((value) => ({ value })),
  customData: {},
});

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/carddav/${name}`, import.meta.url), 'utf8');

// --- The source, read the way the core reads it --------------------------------------------

const sources: Source[] = [];

function carddav(settings: Record<string, unknown>, options: CarddavSourceOptions & { name?: string } = {}) {
  const parsed = carddavSourceSchema.parse({
    type: 'carddav',
    auth: { type: 'basic', username: USER, password: PASSWORD },
    ...settings,
  });
  const source = createCarddavSource(
    { ...parsed, name: options.name ?? 'dav' },
    { logger, baseDir: '.' },
    options,
  );
  sources.push(source);
  return source;
}

async function listAll(source: Source, signal = never()): Promise<RawContact[]> {
  const out: RawContact[] = [];
  for await (const batch of source.list!({ signal })) out.push(...batch);
  return out;
}

const idsOf = (contacts: readonly RawContact[]) => contacts.map((c) => c.id).sort();
const version = (source: Source) => source.version!({ signal: never() });

afterEach(async () => {
  for (const source of sources.splice(0)) await source.close?.();
});

// --- Against the server ----------------------------------------------------------------------

describeWithServer('carddav source: Radicale', typeof server === 'string' ? server : undefined, () => {
  afterAll(async () => {
    for (const book of [...made]) await book.drop();
  });

  sourceContract('carddav (mirror)', async (contacts) => {
    const book = await makeBook('contract');
    for (const contact of contacts) await book.put(`${contact.id}.vcf`, vcard(contact));
    const target = new URL(BASE);
    const cut = await relay(Number(target.port || 80), target.hostname);
    const url = new URL(book.url);
    url.host = `127.0.0.1:${cut.port}`;
    return {
      source: carddav({ url: url.href }, { name: 'contacts' }),
      mode: 'mirror',
      down: () => cut.close(),
      teardown: async () => {
        await cut.close();
        await book.drop();
      },
    };
  });

  describe('finding the address books', () => {
    let work: Book;
    let family: Book;
    beforeEach(async () => {
      work = await makeBook('Work');
      family = await makeBook('Family');
      await work.put('w1.vcf', vcard(person('w1', 'Walter Work', '+41 44 111 11 11')));
      await family.put('f1.vcf', vcard(person('f1', 'Fiona Family', '+41 44 222 22 22')));
    });
    afterEach(async () => {
      await work.drop();
      await family.drop();
    });

    it("finds every address book of the user from the server root, through the user's principal", async () => {
      expect(idsOf(await listAll(carddav({ url: BASE })))).toEqual(expect.arrayContaining(['f1', 'w1']));
      const { principal } = server as Server;
      expect(idsOf(await listAll(carddav({ url: principal })))).toEqual(expect.arrayContaining(['f1', 'w1']));
    });

    it('finds the service of a server root that is a web page through /.well-known/carddav (RFC 6764)', async () => {
      const asked: string[] = [];
      const site = createHttpServer((req, res) => {
        asked.push(`${req.method} ${req.url}`);
        if (req.url === '/.well-known/carddav') res.writeHead(301, { location: BASE }).end();
        else res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Welcome</html>');
      });
      await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
        expect(idsOf(await listAll(carddav({ url, addressBooks: [work.displayName] })))).toEqual(['w1']);
        expect(asked).toEqual(['PROPFIND /', 'PROPFIND /.well-known/carddav']);
      } finally {
        site.closeAllConnections();
        await new Promise((resolve) => site.close(resolve));
      }
    });

    it('given one address book, reads that one only', async () => {
      expect(idsOf(await listAll(carddav({ url: work.url })))).toEqual(['w1']);
    });

    it('reads only the books named in addressBooks: by display name, last segment, path or URL', async () => {
      const only = async (addressBooks: string[]) =>
        idsOf(await listAll(carddav({ url: BASE, addressBooks })));
      expect(await only([work.displayName])).toEqual(['w1']);
      expect(await only([work.displayName.toUpperCase()])).toEqual(['w1']);
      expect(await only([family.segment])).toEqual(['f1']);
      expect(await only([new URL(work.url).pathname])).toEqual(['w1']);
      expect(await only([family.url])).toEqual(['f1']);
      expect(await only([work.displayName, family.segment])).toEqual(['f1', 'w1']);
    });

    it('fails when a named book is not there, naming those that are, so that the mirror keeps its contacts', async () => {
      const source = carddav({ url: BASE, addressBooks: [work.displayName, 'No such book'] });
      await expect(listAll(source)).rejects.toThrow(
        new RegExp(
          `no address book "No such book"; there are .*"${work.displayName}" \\(${new URL(work.url).pathname}\\)`,
        ),
      );
      await expect(version(source)).rejects.toThrow('no address book "No such book"');
    });

    it('fails clearly on an address book URL that does not exist', async () => {
      const missing = new URL(`${RUN}-missing/`, (server as Server).home).href;
      await expect(listAll(carddav({ url: missing }))).rejects.toThrow(
        `PROPFIND ${missing}: HTTP 404 Not Found (no such collection)`,
      );
    });
  });

  describe('vCards', () => {
    let book: Book;
    beforeEach(async () => {
      book = await makeBook('vCards');
    });
    afterEach(async () => {
      await book.drop();
    });
    /** vCard 3.0 and 4.0, a company's card and a card without a number. */
    const putFixtures = async () => {
      for (const name of [
        'alexa-3.0.vcf',
        'bruno-4.0.vcf',
        'white-cross-4.0.vcf',
        'claire-no-phone-3.0.vcf',
      ]) {
        await book.put(name, fixture(name));
      }
    };

    it("are read with the importer's vCard parser: 3.0 and 4.0, tel: URIs, labels from TYPE, ORG, e-mail", async () => {
      await putFixtures();
      const contacts = await listAll(carddav({ url: book.url }));
      const byId = new Map(contacts.map((c) => [c.id, c]));
      expect([...byId.keys()].sort()).toEqual([
        'cc-alexa',
        'cc-claire',
        'cc-white-cross',
        'urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1',
      ]);
      expect(byId.get('cc-alexa')).toMatchObject({
        name: 'Alexa Holiday',
        company: 'White Cross Co',
        phones: [
          { value: '+41 21 552 20 00', label: expect.stringMatching(/^work, voice$/i) },
          { value: '079 123 45 67', label: expect.stringMatching(/^cell$/i) },
        ],
        customData: { 'E-mail': 'alexa@example.com', Title: 'Director' },
      });
      expect(byId.get('urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1')).toMatchObject({
        name: 'Bruno Keller',
        contactUri: 'https://crm.example/people/bruno',
        phones: [
          { value: 'tel:+41-44-668-18-00', label: 'work' },
          { value: 'tel:+41-79-765-43-21', label: 'cell, voice' },
          { value: '021/552 20 00', label: 'home' },
        ],
      });
      expect(byId.get('cc-white-cross')).toMatchObject({ name: 'White Cross Co', company: 'White Cross Co' });
      expect(byId.get('cc-claire')?.phones).toEqual([]);
    });

    it('through the sync engine: numbers as people type them are found; a card without a number is skipped', async () => {
      await putFixtures();
      const dir = tempDir();
      const store = openSqliteStore(dir.path);
      try {
        const engine = createSyncEngine({ store: store.contacts, region: 'CH', logger, workers: 0 });
        const source = carddav({ url: book.url }, { name: 'dav' });
        const report = await engine.sync({ source, intervalMs: 60_000, fullIntervalMs: 60_000 });
        expect(report).toMatchObject({ full: true, read: 4, written: 3, skipped: 1 });
        const ids = async (key: string) =>
          (await store.contacts.findByKey('dav', key, 10)).map((m) => m.id).sort();
        const bruno = 'urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1';
        // `+41 21 552 20 00` and `021/552 20 00`
        expect(await ids('+41215522000')).toEqual(['cc-alexa', bruno]);
        // `tel:+41-44-668-18-00` and `tel:+41-79-765-43-21`
        expect(await ids('+41446681800')).toEqual([bruno]);
        expect(await ids('+41797654321')).toEqual([bruno]);
        expect(await ids('+41791234567')).toEqual(['cc-alexa']);
        // `0041 44 668 18 01`, of a company card
        expect(await ids('+41446681801')).toEqual(['cc-white-cross']);
        const [alexa] = await store.contacts.findByKey('dav', '+41215522000', 1);
        expect(alexa).toMatchObject({ id: 'cc-alexa', primary: true });
      } finally {
        await store.close();
        dir.remove();
      }
    });

    it('get their link from contactUri when it is set: {id}, {addressBook}, {href}', async () => {
      await book.put('bruno.vcf', fixture('bruno-4.0.vcf'));
      const [bruno] = await listAll(
        carddav({ url: book.url, contactUri: 'https://crm.example/c/{id}?book={addressBook}&card={href}' }),
      );
      expect(bruno!.contactUri).toBe(
        `https://crm.example/c/urn%3Auuid%3A4fbe8971-0bc3-424c-9c26-36c3e1eff6b1?book=${book.segment}&card=${book.url}bruno.vcf`,
      );
    });
  });

  describe('changes', () => {
    let book: Book;
    let dir: ReturnType<typeof tempDir>;
    let store: Store;
    beforeEach(async () => {
      book = await makeBook('changes');
      await book.put('a1.vcf', vcard(person('a1', 'Alexa Holiday', '021 552 20 00')));
      await book.put('a2.vcf', vcard(person('a2', 'Bruno Keller', '079 123 45 67')));
      await book.put('a3.vcf', vcard(person('a3', 'Claire Dubois', '+33 2 15 52 20 00')));
      dir = tempDir();
      store = openSqliteStore(dir.path);
    });
    afterEach(async () => {
      await book.drop();
      await store.close();
      dir.remove();
    });

    it('version is the same while nothing changes, and another after a vCard is added, changed or deleted', async () => {
      const source = carddav({ url: book.url });
      const first = await version(source);
      expect(first).toMatch(/^carddav /);
      expect(await version(source)).toBe(first);
      await book.put('a4.vcf', vcard(person('a4', 'Dora Meier', '044 668 18 00')));
      const added = await version(source);
      expect(added).not.toBe(first);
      await book.put('a4.vcf', vcard(person('a4', 'Dora Meier', '044 668 18 99')));
      const changed = await version(source);
      expect(changed).not.toBe(added);
      await book.remove('a4.vcf');
      expect(await version(source)).not.toBe(changed);
      // From the root, over all the user's books: the same rule.
      const all = carddav({ url: BASE });
      const before = await version(all);
      expect(await version(all)).toBe(before);
      await book.remove('a3.vcf');
      expect(await version(all)).not.toBe(before);
    });

    it('through the sync engine: unchanged is not listed again; a deleted vCard disappears, a changed one is updated', async () => {
      const engine = createSyncEngine({ store: store.contacts, region: 'CH', logger, workers: 0 });
      const entry = { source: carddav({ url: book.url }), intervalMs: 60_000, fullIntervalMs: 3_600_000 };
      const ids = async (key: string) => (await store.contacts.findByKey('dav', key, 10)).map((m) => m.id);
      expect(await engine.sync(entry)).toMatchObject({ full: true, written: 3 });
      expect(await engine.sync(entry)).toMatchObject({ unchanged: true, read: 0 });

      await book.remove('a3.vcf');
      await book.put('a2.vcf', vcard(person('a2', 'Bruno Keller', '078 999 88 77')));
      // A full listing: what it did not give is removed from the mirror, and counted.
      expect(await engine.sync(entry)).toMatchObject({ full: true, written: 2, removed: 1 });
      expect(await ids('+33215522000')).toEqual([]);
      expect(await ids('+41791234567')).toEqual([]);
      expect(await ids('+41789998877')).toEqual(['a2']);
      expect(await ids('+41215522000')).toEqual(['a1']);
      expect(await store.contacts.count('dav')).toBe(2);
    });

    it('fetches again only the vCards whose ETag changed', async () => {
      const asked: string[][] = [];
      const watching: typeof fetch = (input, init) => {
        if (init?.method === 'REPORT') {
          const hrefs = [...String(init.body).matchAll(/<d:href>([^<]+)<\/d:href>/g)];
          asked.push(hrefs.map((m) => m[1]!.split('/').pop()!).sort());
        }
        return fetch(input, init);
      };
      const source = carddav({ url: book.url }, { fetch: watching });
      expect(idsOf(await listAll(source))).toEqual(['a1', 'a2', 'a3']);
      expect(asked).toEqual([['a1.vcf', 'a2.vcf', 'a3.vcf']]);
      expect(idsOf(await listAll(source))).toEqual(['a1', 'a2', 'a3']);
      expect(asked).toHaveLength(1);
      await book.put('a2.vcf', vcard(person('a2', 'Bruno Keller', '078 999 88 77')));
      const third = await listAll(source);
      expect(asked.at(-1)).toEqual(['a2.vcf']);
      expect(third.find((c) => c.id === 'a2')?.phones).toEqual([{ value: '078 999 88 77', label: 'work' }]);
      expect(idsOf(third)).toEqual(['a1', 'a2', 'a3']);
    });
  });

  describe('auth', () => {
    it('a wrong password fails with a clear message that never shows it', async () => {
      const secret = 'wr0ng-s3cret-passw0rd';
      const source = carddav({ url: BASE, auth: { type: 'basic', username: USER, password: secret } });
      const expected = `PROPFIND ${BASE}: HTTP 401 Unauthorized (wrong user name or password`;
      await expect(listAll(source)).rejects.toThrow(expected);
      await expect(version(source)).rejects.toThrow(expected);
      const dir = tempDir();
      const store = openSqliteStore(dir.path);
      try {
        const engine = createSyncEngine({ store: store.contacts, region: 'CH', logger, workers: 0 });
        const report = await engine.sync({ source, intervalMs: 60_000, fullIntervalMs: 60_000 });
        expect(report.error).toContain(expected);
        const base64 = Buffer.from(`${USER}:${secret}`).toString('base64');
        expect(report.error).not.toContain(secret);
        expect(report.error).not.toContain(base64);
      } finally {
        await store.close();
        dir.remove();
      }
    });

    it('reads the password from an environment variable or a file', async () => {
      const dir = tempDir();
      const book = await makeBook('auth');
      try {
        writeFileSync(join(dir.path, 'password'), `${PASSWORD}\n`);
        const fromFile = carddavSourceSchema.parse({
          type: 'carddav',
          url: BASE,
          auth: { type: 'basic', username: USER, passwordFile: 'password' },
        });
        const byFile = createCarddavSource({ ...fromFile, name: 'dav' }, { logger, baseDir: dir.path });
        sources.push(byFile);
        expect(await version(byFile)).toMatch(/^carddav /);
        const byEnv = carddav(
          { url: BASE, auth: { type: 'basic', username: USER, passwordEnv: 'DAV_PASSWORD' } },
          { env: { DAV_PASSWORD: PASSWORD } },
        );
        expect(await version(byEnv)).toMatch(/^carddav /);
      } finally {
        await book.drop();
        dir.remove();
      }
    });
  });
});

// --- Without a server ------------------------------------------------------------------------

describe('carddav source', () => {
  /** A TCP server that takes connections and never answers. */
  async function silent(): Promise<{ url: string; close(): Promise<void> }> {
    const sockets = new Set<Socket>();
    const tcp: TcpServer = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}/dav/`,
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          tcp.close(() => resolve());
        }),
    };
  }

  it('a call cut off by its signal or by close settles at once; a closed source refuses calls', async () => {
    const hanging = await silent();
    try {
      const source = carddav({ url: hanging.url });
      const controller = new AbortController();
      const listing = listAll(source, controller.signal);
      setTimeout(() => controller.abort(new Error('cut off')), 50);
      await expect(listing).rejects.toThrow('cut off');

      const closing = version(source);
      setTimeout(() => void source.close!(), 50);
      await expect(closing).rejects.toThrow('source "dav" is closed');
      await expect(listAll(source)).rejects.toThrow('source "dav" is closed');
      await source.close!();
    } finally {
      await hanging.close();
    }
  });

  it('gives up on a request after requestTimeoutMs', async () => {
    const hanging = await silent();
    try {
      const source = carddav({ url: hanging.url, requestTimeoutMs: 200 });
      await expect(listAll(source)).rejects.toThrow(`PROPFIND ${hanging.url}: no answer within 0.2 s`);
    } finally {
      await hanging.close();
    }
  });

  it('fails clearly when nothing listens at the URL', async () => {
    const gone = await silent();
    await gone.close();
    await expect(listAll(carddav({ url: gone.url }))).rejects.toThrow(`PROPFIND ${gone.url} failed: `);
  });

  it('reads vCards with the shared parser; a card without UID gets its resource path as id', async () => {
    const dir = tempDir();
    try {
      const results = await readCards(
        [
          { url: 'https://dav.example/book/one.vcf', data: fixture('alexa-3.0.vcf') },
          {
            url: 'https://dav.example/book/two.vcf',
            data: 'BEGIN:VCARD\nVERSION:3.0\nFN:No Uid\nTEL:2001\nEND:VCARD',
          },
          { url: 'https://dav.example/book/three.vcf', data: 'not a vcard' },
          {
            url: 'https://dav.example/book/four.vcf',
            data: '\uFEFFBEGIN:VCARD\rVERSION:3.0\rUID:u4\rFN:Four\rEND:VCARD\r',
          },
        ],
        join(dir.path, 'cards.vcf'),
      );
      expect(results).toEqual([
        { raw: expect.objectContaining({ id: 'cc-alexa', name: 'Alexa Holiday' }) },
        { raw: expect.objectContaining({ name: 'No Uid', phones: [{ value: '2001' }] }) },
        { error: 'no vCard in the resource (BEGIN:VCARD)' },
        { raw: expect.objectContaining({ id: 'u4', name: 'Four' }) },
      ]);
      expect((results[1] as { raw: RawContact }).raw.id).toBeUndefined();
    } finally {
      dir.remove();
    }
  });

  describe('config', () => {
    let dir: ReturnType<typeof tempDir>;
    beforeEach(() => {
      dir = tempDir();
    });
    afterEach(() => dir.remove());

    it('is registered as type "carddav" and validated with the common settings', async () => {
      writeFileSync(join(dir.path, 'dav.password'), 'secret-password\n');
      const config = loadConfig({
        env: {},
        overrides: {
          baseDir: dir.path,
          sources: [
            {
              type: 'carddav',
              name: 'radicale',
              crmName: 'Contacts',
              url: 'https://dav.example.ch/',
              addressBooks: ['Contacts'],
              auth: { type: 'basic', username: 'ann', passwordFile: 'dav.password' },
              contactUri: 'https://crm.example.ch/contacts/{id}',
              sync: { intervalMs: 60_000 },
            },
            {
              type: 'carddav',
              url: 'https://cloud.example.ch/remote.php/dav',
              auth: { type: 'bearer', token: 'tok' },
            },
          ] as never,
        },
      });
      const [first, second] = config.tenants[0]!.sources;
      expect(first).toMatchObject({
        type: 'carddav',
        name: 'radicale',
        url: 'https://dav.example.ch/',
        addressBooks: ['Contacts'],
        requestTimeoutMs: 30_000,
        sync: { intervalMs: 60_000 },
      });
      expect(second).toMatchObject({ type: 'carddav', name: 'carddav-2', auth: { type: 'bearer' } });
      const source = await createSource(first!, { logger, baseDir: dir.path });
      sources.push(source);
      expect(source).toMatchObject({ type: 'carddav', name: 'radicale' });
      expect(source.list).toBeTypeOf('function');
      expect(source.version).toBeTypeOf('function');
      // CardDAV cannot search a number as typed: mirror only.
      expect(source.search).toBeUndefined();
    });

    it('reports wrong settings by their path', () => {
      const load = (entry: Record<string, unknown>) => () =>
        loadConfig({
          env: {},
          overrides: {
            sources: [{ type: 'carddav', url: 'https://dav.example.ch/', ...entry } as never],
          },
        });
      expect(load({ url: 'ftp://dav.example.ch/' })).toThrow(/sources\.0\.url: must be an http\(s\) URL/);
      expect(load({ url: 'https://ann:pw@dav.example.ch/' })).toThrow(
        /sources\.0\.url: must not hold a user name/,
      );
      expect(load({ auth: { type: 'basic', username: 'ann' } })).toThrow(
        /sources\.0\.auth\.password: needs password/,
      );
      expect(load({ auth: { type: 'basic', username: 'ann', password: 'a', passwordEnv: 'B' } })).toThrow(
        /sources\.0\.auth\.password: give only one of password, passwordEnv/,
      );
      expect(load({ auth: { type: 'digest' } })).toThrow(
        /sources\.0\.auth(\.type)?: must be basic or bearer/,
      );
      expect(load({ contactUri: 'https://crm/{uid}' })).toThrow(
        /sources\.0\.contactUri: unknown variable \{uid\}/,
      );
      expect(load({ addressBooks: [] })).toThrow(/sources\.0\.addressBooks: name at least one/);
      expect(load({ requestTimeoutMs: 0 })).toThrow(/sources\.0\.requestTimeoutMs/);
      expect(load({ adressBooks: ['x'] })).toThrow(/adressBooks/);
    });

    it('reads its secret when it is created: a missing one stops the start, named by its setting', () => {
      const create = (auth: Record<string, unknown>) => () =>
        createCarddavSource(
          { name: 'dav', url: 'https://dav.example.ch/', auth: auth as never },
          { logger, baseDir: dir.path },
          { env: {} },
        );
      expect(create({ type: 'basic', username: 'ann', passwordEnv: 'NOPE' })).toThrow(
        'auth.passwordEnv: environment variable NOPE is not set',
      );
      expect(create({ type: 'bearer', tokenFile: 'missing' })).toThrow(
        `auth.tokenFile: cannot read ${join(dir.path, 'missing')} (ENOENT)`,
      );
    });
  });
});
