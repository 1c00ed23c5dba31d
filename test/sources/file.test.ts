import { existsSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { secretsOf } from '../../src/secrets.js';
import { createFileSource, type FileSourceConfig } from '../../src/sources/file/file-source.js';
import { createSource } from '../../src/sources/registry.js';
import type { Source } from '../../src/sources/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { tempDir } from '../support/helper.js';
import { sourceContract } from './contract.js';

const logger = pino({ level: 'silent' });
const never = () => new AbortController().signal;

// --- Writing contacts as files -------------------------------------------------------------

const csvCell = (value = '') => (/[",;\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

function csvOf(contacts: readonly RawContact[]): string {
  const rows = [['id', 'name', 'company', 'phone', 'phone 2']];
  for (const c of contacts) {
    rows.push([
      c.id ?? '',
      c.name ?? '',
      c.company ?? '',
      c.phones[0]?.value ?? '',
      c.phones[1]?.value ?? '',
    ]);
  }
  return `${rows.map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

const vcardText = (value: string) => value.replace(/\\/g, '\\\\').replace(/[,;]/g, (c) => `\\${c}`);

function vcardOf(contacts: readonly RawContact[]): string {
  return contacts
    .map((c) =>
      [
        'BEGIN:VCARD',
        'VERSION:3.0',
        ...(c.id ? [`UID:${c.id}`] : []),
        `FN:${vcardText(c.name ?? '')}`,
        ...(c.company ? [`ORG:${vcardText(c.company)}`] : []),
        ...c.phones.map((p) => `TEL;TYPE=WORK:${p.value}`),
        'END:VCARD',
      ].join('\r\n'),
    )
    .join('\r\n')
    .concat('\r\n');
}

const contact = (id: string, name: string, ...phones: string[]): RawContact => ({
  id,
  name,
  phones: phones.map((value) => ({ value })),
  customData: {},
});

// --- A local HTTP server ---------------------------------------------------------------------

interface Served {
  body: string;
  type?: string;
  etag?: string;
  lastModified?: string;
  status?: number;
}

interface TestServer {
  readonly url: string;
  readonly requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  /** What GET answers (HEAD the same without a body). */
  served: Served;
  /** Replaces the default answer for GET. */
  onGet?: (response: ServerResponse) => void;
  close(): Promise<void>;
}

async function serve(served: Served, path = '/contacts.csv'): Promise<TestServer> {
  const state: TestServer = {
    url: '',
    requests: [],
    served,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((request, response) => {
    state.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    if (request.method === 'GET' && state.onGet) return state.onGet(response);
    const { body, type, etag, lastModified, status = 200 } = state.served;
    if (status !== 200) {
      response.writeHead(status).end('no');
      return;
    }
    if (etag && request.headers['if-none-match'] === etag) {
      response.writeHead(304).end();
      return;
    }
    response.writeHead(200, {
      'content-type': type ?? 'text/csv; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      ...(etag && { etag }),
      ...(lastModified && { 'last-modified': lastModified }),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (state as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return state;
}

/** Temporary download folders of the file source, to check none is left behind. */
const downloads = () => readdirSync(tmpdir()).filter((name) => name.startsWith('callcard-file-'));

// --- The shared contract ---------------------------------------------------------------------

function fileContract(format: 'csv' | 'vcard') {
  return async (contacts: readonly RawContact[]) => {
    const dir = tempDir();
    const file = join(dir.path, format === 'csv' ? 'contacts.csv' : 'contacts.vcf');
    writeFileSync(file, format === 'csv' ? csvOf(contacts) : vcardOf(contacts));
    return {
      source: createFileSource({ name: 'contacts', path: file }, { logger, baseDir: dir.path }),
      mode: 'mirror' as const,
      down: async () => rmSync(file),
      teardown: async () => dir.remove(),
    };
  };
}

sourceContract('file (csv)', fileContract('csv'));
sourceContract('file (vcard)', fileContract('vcard'));
sourceContract('file (url)', async (contacts) => {
  const server = await serve({ body: csvOf(contacts), etag: '"v1"' });
  return {
    source: createFileSource({ name: 'contacts', url: server.url }, { logger, baseDir: tmpdir() }),
    mode: 'mirror',
    down: () => server.close(),
    teardown: () => server.close(),
  };
});

// --- Own cases -------------------------------------------------------------------------------

const CONTACTS = [
  contact('a1', 'Alexa Holiday', '021 552 20 00'),
  contact('a2', 'Bruno Keller', '+41 79 123 45 67'),
  contact('a3', 'Claire Dubois', '+33 2 15 52 20 00'),
];

describe('file source', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let sources: Source[];
  let servers: TestServer[];

  beforeEach(() => {
    dir = tempDir();
    store = openSqliteStore(join(dir.path, 'data'));
    sources = [];
    servers = [];
  });
  afterEach(async () => {
    for (const source of sources) await source.close?.();
    for (const server of servers) await server.close();
    await store.close();
    dir.remove();
  });

  const source = (config: Omit<FileSourceConfig, 'name'>, name = 'contacts') => {
    const made = createFileSource({ name, ...config }, { logger, baseDir: dir.path });
    sources.push(made);
    return made;
  };
  const server = async (served: Served, path?: string) => {
    const made = await serve(served, path);
    servers.push(made);
    return made;
  };
  const engine = () => createSyncEngine({ store: store.contacts, region: 'CH', logger, workers: 0 });
  const mirror = (of: Source) => ({ source: of, intervalMs: 60_000, fullIntervalMs: 60_000 });
  const ids = async (key: string, name = 'contacts') =>
    (await store.contacts.findByKey(name, key, 10)).map((m) => m.id).sort();
  const listAll = async (of: Source, signal = never()) => {
    const batches: (readonly RawContact[])[] = [];
    for await (const batch of of.list!({ signal })) batches.push(batch);
    return batches;
  };
  const write = (name: string, text: string) => {
    const file = join(dir.path, name);
    writeFileSync(file, text);
    return file;
  };

  describe('config', () => {
    it('is registered as type "file" and validated with the common settings', async () => {
      const config = loadConfig({
        env: {},
        overrides: {
          baseDir: dir.path,
          sources: [
            { type: 'file', path: 'contacts.csv', sync: { intervalMs: 60_000 } },
            {
              type: 'file',
              name: 'crm',
              url: 'https://crm.example/export.vcf',
              headers: { Authorization: 'x' },
            },
          ],
        },
      });
      const { sources: configured } = config.tenants[0]!;
      expect(configured[0]).toMatchObject({ type: 'file', name: 'contacts', path: 'contacts.csv' });
      expect(configured[1]).toMatchObject({ type: 'file', url: 'https://crm.example/export.vcf' });
      write('contacts.csv', csvOf(CONTACTS));
      const made = await createSource(configured[0]!, { logger, baseDir: dir.path });
      sources.push(made);
      expect(made.type).toBe('file');
      expect((await listAll(made)).flat()).toHaveLength(3);
    });

    it('rejects a bad url, format or header name', () => {
      const load = (entry: Record<string, unknown>) => () =>
        loadConfig({ env: {}, overrides: { sources: [{ type: 'file', ...entry } as never] } });
      expect(load({ url: 'ftp://host/file.csv' })).toThrow(/sources\.0\.url/);
      expect(load({ path: 'a.csv', format: 'xlsx' })).toThrow(/sources\.0\.format/);
      expect(load({ url: 'https://h/a.csv', headers: { 'bad header': 'x' } })).toThrow(/sources\.0\.headers/);
    });

    it('needs exactly one of path and url; headers only with a url', () => {
      const deps = { logger, baseDir: dir.path };
      expect(() => createFileSource({ name: 'x' }, deps)).toThrow('give either path or url');
      expect(() => createFileSource({ name: 'x', path: 'a.csv', url: 'https://h/a.csv' }, deps)).toThrow(
        'give either path or url',
      );
      expect(() => createFileSource({ name: 'x', path: 'a.csv', headers: { A: 'b' } }, deps)).toThrow(
        'headers are sent to a url only',
      );
    });

    it('reads a relative path against the config directory', async () => {
      write('rel.csv', csvOf(CONTACTS));
      expect((await listAll(source({ path: 'rel.csv' }))).flat().map((c) => c.id)).toEqual([
        'a1',
        'a2',
        'a3',
      ]);
    });
  });

  describe('listing', () => {
    it('gives batches of 1000 contacts', async () => {
      const many = Array.from({ length: 2500 }, (_, i) =>
        contact(`c${i}`, `Person ${i}`, `+4179${1000000 + i}`),
      );
      const batches = await listAll(source({ path: write('many.csv', csvOf(many)) }));
      expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
      expect(batches[2]!.at(-1)).toMatchObject({ id: 'c2499', name: 'Person 2499' });
    });

    it('skips entries the reader cannot use and lists the rest', async () => {
      const text = vcardOf(CONTACTS).replace('END:VCARD\r\n', ''); // the first card never ends
      const batches = await listAll(source({ path: write('broken.vcf', text) }));
      expect(batches.flat().map((c) => c.id)).toEqual(['a2', 'a3']);
    });

    it('tells the format by the extension, the content type, else the first line', async () => {
      write('cards', vcardOf(CONTACTS));
      expect((await listAll(source({ path: 'cards' }))).flat()).toHaveLength(3);
      write('cards.txt', csvOf(CONTACTS));
      expect((await listAll(source({ path: 'cards.txt' }))).flat()).toHaveLength(3);
      const byType = await server({ body: vcardOf(CONTACTS), type: 'text/vcard' }, '/export');
      expect((await listAll(source({ url: byType.url }))).flat()).toHaveLength(3);
      const bySniff = await server({ body: vcardOf(CONTACTS), type: 'application/octet-stream' }, '/export');
      expect((await listAll(source({ url: bySniff.url }))).flat()).toHaveLength(3);
      const forced = await server({ body: vcardOf(CONTACTS), type: 'text/csv' }, '/export.csv');
      expect((await listAll(source({ url: forced.url, format: 'vcard' }))).flat()).toHaveLength(3);
    });

    it('fails with a clear message when the file is missing, empty or has no phone column', async () => {
      await expect(listAll(source({ path: 'missing.csv' }))).rejects.toThrow(
        `${join(dir.path, 'missing.csv')}: cannot be read (no such file)`,
      );
      await expect(listAll(source({ path: write('empty.vcf', '') }))).rejects.toThrow('no vCard in the file');
      await expect(listAll(source({ path: write('nophone.csv', 'name,city\nA,B\n') }))).rejects.toThrow(
        'no phone column',
      );
    });

    it('fails when the file changes while it is read, so a partial file never replaces the mirror', async () => {
      const many = Array.from({ length: 1500 }, (_, i) =>
        contact(`c${i}`, `Person ${i}`, `+4179${1000000 + i}`),
      );
      const file = write('moving.csv', csvOf(many));
      const iterator = source({ path: file }).list!({ signal: never() })[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toHaveLength(1000);
      writeFileSync(file, csvOf(many.slice(0, 10)));
      utimesSync(file, new Date(), new Date(Date.now() + 5_000));
      await expect(
        (async () => {
          while (!(await iterator.next()).done) {
            // read on
          }
        })(),
      ).rejects.toThrow('changed while it was read');
    });

    it('stops at once when its signal is aborted during the listing', async () => {
      const many = Array.from({ length: 2500 }, (_, i) =>
        contact(`c${i}`, `Person ${i}`, `+4179${1000000 + i}`),
      );
      const controller = new AbortController();
      const seen: number[] = [];
      const listing = (async () => {
        for await (const batch of source({ path: write('many.csv', csvOf(many)) }).list!({
          signal: controller.signal,
        })) {
          seen.push(batch.length);
          controller.abort(new Error('cut off'));
        }
      })();
      await expect(listing).rejects.toThrow('cut off');
      expect(seen).toEqual([1000]);
    });
  });

  describe('version', () => {
    it('is the same while the file is unchanged and changes when it is written', async () => {
      const file = write('v.csv', csvOf(CONTACTS));
      const of = source({ path: file });
      const first = await of.version!({ signal: never() });
      expect(first).toBeTruthy();
      expect(await of.version!({ signal: never() })).toBe(first);
      writeFileSync(file, csvOf(CONTACTS.slice(0, 2)));
      const second = await of.version!({ signal: never() });
      expect(second).not.toBe(first);
      // Same size, other time: changed too.
      utimesSync(file, new Date(), new Date(Date.now() + 10_000));
      expect(await of.version!({ signal: never() })).not.toBe(second);
    });

    it('honours its signal', async () => {
      const controller = new AbortController();
      controller.abort(new Error('stop'));
      await expect(
        source({ path: write('v.csv', 'x') }).version!({ signal: controller.signal }),
      ).rejects.toThrow('stop');
      const http = await server({ body: 'x', etag: '"1"' });
      await expect(source({ url: http.url }).version!({ signal: controller.signal })).rejects.toThrow('stop');
    });

    it('of a URL is its ETag, else its Last-Modified time, else undefined', async () => {
      const http = await server({ body: csvOf(CONTACTS), etag: '"abc"' });
      const of = source({ url: http.url });
      expect(await of.version!({ signal: never() })).toContain('"abc"');
      http.served = { body: csvOf(CONTACTS), lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT' };
      expect(await of.version!({ signal: never() })).toContain('Wed, 21 Oct 2015 07:28:00 GMT');
      http.served = { body: csvOf(CONTACTS) };
      expect(await of.version!({ signal: never() })).toBeUndefined();
      expect(http.requests.map((r) => r.method)).toEqual(['HEAD', 'HEAD', 'HEAD']);
    });
  });

  describe('through the sync engine', () => {
    it('skips an unchanged file and follows an edited one', async () => {
      const file = write('sync.csv', csvOf(CONTACTS));
      const of = source({ path: file });
      const sync = engine();
      expect(await sync.sync(mirror(of))).toMatchObject({ written: 3, full: true });
      expect(await sync.sync(mirror(of))).toMatchObject({ unchanged: true, read: 0 });

      // Claire removed, Bruno's number changed.
      writeFileSync(file, csvOf([CONTACTS[0]!, contact('a2', 'Bruno Keller', '+41 78 999 88 77')]));
      utimesSync(file, new Date(), new Date(Date.now() + 10_000));
      const report = await sync.sync(mirror(of));
      expect(report.unchanged).toBeUndefined();
      expect(report).toMatchObject({ written: 2 });
      expect(await ids('+33215522000')).toEqual([]);
      expect(await ids('+41791234567')).toEqual([]);
      expect(await ids('+41789998877')).toEqual(['a2']);
      expect(await ids('+41215522000')).toEqual(['a1']);
      expect(await store.contacts.count('contacts')).toBe(2);
    });

    it('keeps the last good contacts when the file goes missing, and records why', async () => {
      const file = write('gone.csv', csvOf(CONTACTS));
      const of = source({ path: file });
      const sync = engine();
      expect((await sync.sync(mirror(of))).error).toBeUndefined();
      rmSync(file);
      const report = await sync.sync(mirror(of));
      expect(report.error).toBe(`${file}: cannot be read (no such file)`);
      expect(await ids('+41791234567')).toEqual(['a2']);
      expect((await store.contacts.syncState('contacts'))?.error).toBe(report.error);
      // Back again: read at once, even though it is the same file as before.
      writeFileSync(file, csvOf(CONTACTS));
      expect(await sync.sync(mirror(of))).toMatchObject({ written: 3 });
      expect((await store.contacts.syncState('contacts'))?.error).toBeUndefined();
    });

    it('skips a URL whose ETag has not changed, and downloads it again when it has', async () => {
      const http = await server({ body: csvOf(CONTACTS), etag: '"v1"' });
      const of = source({ url: http.url });
      const sync = engine();
      const gets = () => http.requests.filter((r) => r.method === 'GET').length;
      expect(await sync.sync(mirror(of))).toMatchObject({ written: 3 });
      expect(await sync.sync(mirror(of))).toMatchObject({ unchanged: true });
      expect(gets()).toBe(1);
      http.served = { body: csvOf(CONTACTS.slice(1)), etag: '"v2"' };
      expect(await sync.sync(mirror(of))).toMatchObject({ written: 2 });
      expect(gets()).toBe(2);
      expect(await ids('+41215522000')).toEqual([]);
    });

    it('downloads a URL without ETag or Last-Modified at every sync', async () => {
      const http = await server({ body: csvOf(CONTACTS) });
      const of = source({ url: http.url });
      const sync = engine();
      await sync.sync(mirror(of));
      expect((await sync.sync(mirror(of))).unchanged).toBeUndefined();
      expect(http.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
    });
  });

  describe('URLs', () => {
    it('sends the configured headers with HEAD and GET', async () => {
      const http = await server({ body: csvOf(CONTACTS), etag: '"v1"' });
      const of = source({
        url: http.url,
        headers: { Authorization: 'Bearer s3cret-token', 'X-Tenant': '42' },
      });
      await engine().sync(mirror(of));
      expect(http.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
      for (const request of http.requests) {
        expect(request.headers).toMatchObject({ authorization: 'Bearer s3cret-token', 'x-tenant': '42' });
      }
    });

    it('takes header values from environment variables and files, like every secret', async () => {
      const http = await server({ body: csvOf(CONTACTS), etag: '"v1"' });
      write('tenant.secret', 'tenant-42-secret-value\n');
      process.env['CALLCARD_TEST_EXPORT_AUTH'] = 'Bearer s3cret-from-env';
      try {
        const config = loadConfig({
          env: {},
          overrides: {
            baseDir: dir.path,
            sources: [
              {
                type: 'file',
                url: http.url,
                headers: { Accept: 'text/csv' },
                headersEnv: { Authorization: 'CALLCARD_TEST_EXPORT_AUTH' },
                headersFile: { 'X-Tenant': 'tenant.secret' },
              } as never,
            ],
          },
        });
        const made = await createSource(config.tenants[0]!.sources[0]!, { logger, baseDir: dir.path });
        sources.push(made);
        await engine().sync(mirror(made));
        expect(http.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
        for (const request of http.requests) {
          expect(request.headers).toMatchObject({
            accept: 'text/csv',
            authorization: 'Bearer s3cret-from-env',
            'x-tenant': 'tenant-42-secret-value',
          });
        }
        // They are secrets: the log never shows them.
        expect(secretsOf(config)).toEqual(
          expect.arrayContaining(['Bearer s3cret-from-env', 'tenant-42-secret-value']),
        );
      } finally {
        delete process.env['CALLCARD_TEST_EXPORT_AUTH'];
      }
      const make = (config: Omit<FileSourceConfig, 'name'>) => () =>
        createFileSource({ name: 'x', ...config }, { logger, baseDir: dir.path });
      expect(make({ url: http.url, headersEnv: { Authorization: 'CALLCARD_TEST_UNSET' } })).toThrow(
        'headersEnv.Authorization: environment variable CALLCARD_TEST_UNSET is not set',
      );
      expect(make({ url: http.url, headersFile: { Authorization: 'missing.secret' } })).toThrow(
        /headersFile\.Authorization: cannot read .*missing\.secret \(ENOENT\)/,
      );
      expect(
        make({
          url: http.url,
          headers: { authorization: 'a' },
          headersFile: { Authorization: 'tenant.secret' },
        }),
      ).toThrow('give Authorization once, in headers, headersEnv or headersFile');
    });

    it('sends user and password given in the URL as Basic authorization', async () => {
      const http = await server({ body: csvOf(CONTACTS) });
      const of = source({ url: http.url.replace('http://', 'http://ann%40x:p%3Ass@') });
      expect((await listAll(of)).flat()).toHaveLength(3);
      expect(http.requests[0]!.headers.authorization).toBe(
        `Basic ${Buffer.from('ann@x:p:ss').toString('base64')}`,
      );
    });

    it('fails on an HTTP error with a message that shows no secret', async () => {
      const http = await server({ body: '', status: 401 });
      const url = http.url.replace('http://', 'http://user:pw@').concat('?key=k3y');
      const of = source({ url, headers: { Authorization: 'Bearer s3cret-token' } });
      const report = await engine().sync(mirror(of));
      expect(report.error).toBe(`GET ${http.url}?…: HTTP 401 Unauthorized`);
      expect(report.error).not.toMatch(/s3cret|k3y|pw/);
      await expect(of.version!({ signal: never() })).rejects.toThrow(`HEAD ${http.url}?…: HTTP 401`);
    });

    it('fails clearly when the server cannot be reached', async () => {
      const http = await server({ body: '' });
      await http.close();
      await expect(listAll(source({ url: http.url }))).rejects.toThrow(`GET ${http.url} failed: `);
    });

    it('refuses a download larger than maxBytes, announced or not, and leaves no temporary file', async () => {
      const before = downloads();
      const http = await server({ body: csvOf(CONTACTS) });
      await expect(listAll(source({ url: http.url, maxBytes: 50 }))).rejects.toThrow(
        `GET ${http.url}: larger than 50 bytes`,
      );
      http.onGet = (response) => {
        response.writeHead(200, { 'content-type': 'text/csv' });
        response.end(csvOf(CONTACTS)); // chunked: no length given
      };
      await expect(listAll(source({ url: http.url, maxBytes: 50 }))).rejects.toThrow(
        `GET ${http.url}: larger than 50 bytes`,
      );
      expect(downloads()).toEqual(before);
    });

    it('removes the downloaded file after the listing', async () => {
      const before = downloads();
      const http = await server({ body: csvOf(CONTACTS) });
      const of = source({ url: http.url });
      const iterator = of.list!({ signal: never() })[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toHaveLength(3);
      expect(downloads()).toHaveLength(before.length + 1);
      expect((await iterator.next()).done).toBe(true);
      expect(downloads()).toEqual(before);
    });

    it('names the URL, not the temporary file, when the download cannot be read', async () => {
      const http = await server({ body: 'name,city\nA,B\n' });
      await expect(listAll(source({ url: http.url }))).rejects.toThrow(`${http.url}: no phone column`);
    });

    it('aborts a download in progress when its signal is aborted or the source is closed', async () => {
      const before = downloads();
      const http = await server({ body: '' });
      http.onGet = (response) => {
        response.writeHead(200, { 'content-type': 'text/csv' });
        response.write('id,name,phone\n'); // and never ends
      };
      const controller = new AbortController();
      const listing = listAll(source({ url: http.url }), controller.signal);
      await new Promise((resolve) => setTimeout(resolve, 50));
      controller.abort(new Error('cut off'));
      await expect(listing).rejects.toThrow('cut off');

      const of = source({ url: http.url });
      const closing = listAll(of);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await of.close!();
      await expect(closing).rejects.toThrow('closed');
      expect(downloads()).toEqual(before);
    });
  });

  it('can be closed more than once; a closed source lists nothing', async () => {
    const of = source({ path: write('c.csv', csvOf(CONTACTS)) });
    await of.close!();
    await of.close!();
    await expect(listAll(of)).rejects.toThrow('source "contacts" is closed');
    expect(existsSync(join(dir.path, 'c.csv'))).toBe(true);
  });
});
