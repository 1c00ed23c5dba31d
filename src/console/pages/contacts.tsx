import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { incomingKey, maskNumber } from '../../phone/index.js';
import { csvLine } from '../../store/call-csv.js';
import type { ContactSearchPage, FoundContact } from '../../store/types.js';
import { ImportJobs } from '../imports.js';
import type { ConsoleKit } from '../kit.js';
import { type ContactRow, ContactsPage, ImportPage } from '../views/contacts.js';

/** Contacts on one page. */
export const CONTACTS_PER_PAGE = 50;
/** What reads as a number rather than a name: digits with the signs numbers are written with. */
const NUMBER_LIKE = /^[\d\s+()./-]*\d[\d\s+()./-]*$/;

/** The largest file a browser may upload (a million contacts fit in about a tenth of it). */
export const UPLOAD_LIMIT = 512 * 1024 * 1024;
/** Contacts read at a time for a download: a page's worth, each an indexed read past the cursor. */
export const EXPORT_PAGE = 1000;
/** Numbers in columns of their own in a download; the rest go together into `more_numbers`. */
const PHONE_COLUMNS = 5;
export const CONTACTS_CSV_HEADER = [
  'source',
  'id',
  'name',
  'company',
  'contact_uri',
  'phone',
  ...Array.from({ length: PHONE_COLUMNS - 1 }, (_, index) => `phone_${index + 2}`),
  'more_numbers',
];

/** A contact as a download's row: its numbers as stored (masked for a read-only account). */
function contactCsvRow(contact: FoundContact, number: (raw: string, key: string) => string): string[] {
  const numbers = contact.phones.map((phone) => number(phone.raw, phone.key));
  return [
    contact.source,
    contact.id,
    contact.name ?? '',
    contact.company ?? '',
    contact.contactUri ?? '',
    ...Array.from({ length: PHONE_COLUMNS }, (_, index) => numbers[index] ?? ''),
    numbers.slice(PHONE_COLUMNS).join('; '),
  ];
}

class TooLarge extends Error {}

/** A JSON error as the API answers them: a code and a message, never a stack. */
const jsonError = (reply: FastifyReply, status: number, code: string, message: string) =>
  reply.code(status).type('application/json; charset=utf-8').send({ error: { code, message } });

export const contactRoutes: FastifyPluginAsync<{ kit: ConsoleKit }> = async (app, { kit }) => {
  const { options } = kit;
  const { region } = options.tenant;
  const jobs = new ImportJobs(kit.now);

  // An upload is the file itself (the console's script sends it with its progress), streamed to disk.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.get<{ Querystring: { q?: string; after?: string } }>('/contacts', async (request, reply) => {
    const ctx = kit.context(request, reply);
    const query = typeof request.query.q === 'string' ? request.query.q.trim().slice(0, 100) : '';
    const after = typeof request.query.after === 'string' ? request.query.after.slice(0, 400) : '';
    const masked = request.consoleUser?.role === 'read-only';
    const upload = !masked && options.importContacts ? (options.importSources ?? []) : [];
    if (query === '')
      return kit.send(
        reply,
        <ContactsPage ctx={ctx} query="" paged={false} masked={masked} importSources={upload} />,
      );
    // A number is looked up by its key, as a lookup would; anything else by the start of a name or company.
    const key = NUMBER_LIKE.test(query) ? incomingKey(query, region) : undefined;
    let page: ContactSearchPage;
    try {
      page = await options.contacts.search(
        key !== undefined
          ? { key, limit: CONTACTS_PER_PAGE }
          : { text: query, limit: CONTACTS_PER_PAGE, ...(after && { after }) },
      );
    } catch {
      // A cursor that was not one of ours: start from the first page.
      return reply.redirect(`${kit.base}/contacts?${new URLSearchParams({ q: query }).toString()}`, 303);
    }
    const rows: ContactRow[] = page.contacts.map((contact) => ({
      contact,
      numbers: contact.phones.map((phone) => ({
        raw: masked ? maskNumber(phone.key) : phone.raw,
        key: masked ? maskNumber(phone.key) : phone.key,
        ...(phone.label !== undefined && { label: phone.label }),
      })),
    }));
    return kit.send(
      reply,
      <ContactsPage
        ctx={ctx}
        query={query}
        rows={rows}
        {...(page.next !== undefined && { next: page.next })}
        paged={after !== ''}
        masked={masked}
        importSources={upload}
      />,
    );
  });

  app.post<{ Querystring: { source?: string; replace?: string; name?: string } }>(
    '/contacts/upload',
    { config: { change: true } },
    async (request, reply) => {
      const importContacts = options.importContacts;
      const sources = options.importSources ?? [];
      if (!importContacts || sources.length === 0) {
        return jsonError(reply, 409, 'NO_EMBEDDED_SOURCE', 'no embedded source takes imported contacts');
      }
      if (!(request.body instanceof Readable)) {
        return jsonError(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send the file as application/octet-stream');
      }
      const source = request.query.source ?? sources[0]!;
      if (!sources.includes(source)) {
        return jsonError(
          reply,
          400,
          'BAD_SOURCE',
          `not an embedded source; configured: ${sources.join(', ')}`,
        );
      }
      const fileName = basename(String(request.query.name ?? 'contacts.csv')).slice(0, 200);
      const extension = /\.(vcf|vcard)$/i.test(fileName) ? '.vcf' : '.csv';
      const dir = await mkdtemp(join(options.uploadDir ?? tmpdir(), 'callcard-upload-'));
      const file = join(dir, `upload${extension}`);
      const remove = () => rm(dir, { recursive: true, force: true });
      let bytes = 0;
      let lines = 0;
      let last = 10;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > UPLOAD_LIMIT) return done(new TooLarge());
          for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
          last = chunk[chunk.length - 1] ?? last;
          done(null, chunk);
        },
      });
      try {
        await pipeline(request.body, count, createWriteStream(file, { mode: 0o600 }));
      } catch (error) {
        await remove();
        if (error instanceof TooLarge) {
          return jsonError(
            reply,
            413,
            'TOO_LARGE',
            `the file is larger than ${UPLOAD_LIMIT / 1024 / 1024} MB`,
          );
        }
        throw error;
      }
      if (bytes === 0) {
        await remove();
        return jsonError(reply, 400, 'EMPTY_FILE', 'the file is empty');
      }
      if (last !== 10) lines++;
      const replace = request.query.replace === '1';
      const job = jobs.start(
        { account: request.consoleUser!.name, fileName, source, replace, lines },
        (job) =>
          importContacts(file, {
            source,
            replace,
            onEntry: (line) => ImportJobs.entry(job, line),
            onSkip: (line, reason) => ImportJobs.skip(job, line, reason),
          }),
        async (job) => {
          await remove();
          const outcome = job.summary
            ? `${job.summary.imported} imported, ${job.summary.skipped} skipped`
            : 'failed';
          await kit.audit(
            request,
            'contacts-import',
            `${source}: ${fileName}${replace ? ' (replace)' : ''}, ${outcome}`,
          );
        },
      );
      return reply
        .code(202)
        .send({ job: job.id, location: `${kit.base}/contacts/imports/${encodeURIComponent(job.id)}` });
    },
  );

  // An import's progress, for the page's script to show without a reload.
  app.get<{ Params: { id: string } }>('/contacts/imports/:id/progress', async (request, reply) => {
    const job = jobs.get(request.params.id);
    if (!job) return jsonError(reply, 404, 'NOT_FOUND', 'no such import');
    return reply.send({
      status: job.status,
      progress: ImportJobs.progress(job),
      read: job.read,
      skipped: job.skipped,
      text: kit.context(request, reply).t('contacts.readSoFar', { read: job.read, skipped: job.skipped }),
    });
  });

  app.get<{ Params: { id: string } }>('/contacts/imports/:id', async (request, reply) => {
    const ctx = kit.context(request, reply);
    const job = jobs.get(request.params.id);
    if (!job) return kit.send(reply, <ImportPage ctx={ctx} />, 404);
    return kit.send(
      reply,
      <ImportPage
        ctx={ctx}
        job={{ ...job, skips: [...job.skips], progress: ImportJobs.progress(job) }}
        redact={options.redact}
      />,
    );
  });

  // Every contact of every source, as CSV, read page by page along the name index.
  app.get('/contacts.csv', async (request, reply) => {
    const masked = request.consoleUser?.role === 'read-only';
    const number = (raw: string, key: string) => (masked ? maskNumber(key) : raw);
    await kit.audit(request, 'contacts-export', masked ? 'numbers masked' : 'numbers in full');
    const { contacts } = options;
    async function* lines() {
      yield csvLine(CONTACTS_CSV_HEADER);
      let after: string | undefined;
      do {
        const page = await contacts.search({ text: '', limit: EXPORT_PAGE, ...(after && { after }) });
        if (page.contacts.length > 0)
          yield page.contacts.map((contact) => csvLine(contactCsvRow(contact, number))).join('');
        after = page.next;
      } while (after !== undefined);
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="contacts.csv"')
      .send(Readable.from(lines()));
  });
};
