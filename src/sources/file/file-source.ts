import type { BigIntStats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { secretFromEnv, secretFromFile } from '../../config/secret-fields.js';
import type { RawContact } from '../../contacts/raw-contact.js';
import { readCsv } from '../../import/csv.js';
import type { ReadResult } from '../../import/types.js';
import { readVcard } from '../../import/vcard.js';
import { raceAbort } from '../../util/abort.js';
import { createCalls } from '../calls.js';
import type { CallOptions, ListOptions, Source, SourceDeps } from '../types.js';
import { download, type Remote, remoteOf, remoteVersion } from './http.js';

export { fileSourceSchema } from './schema.js';

/** Contacts handed to the sync per batch. */
const BATCH = 1000;
/** Largest download, unless `maxBytes` says otherwise. */
const DEFAULT_MAX_BYTES = 200 * 1024 * 1024;
/** Skipped rows logged one by one per listing; the rest are counted. */
const LOGGED_SKIPS = 20;

export type FileFormat = 'csv' | 'vcard';

export interface FileSourceConfig {
  readonly name: string;
  readonly path?: string | undefined;
  readonly url?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly headersEnv?: Readonly<Record<string, string>> | undefined;
  readonly headersFile?: Readonly<Record<string, string>> | undefined;
  readonly format?: FileFormat | undefined;
  readonly maxBytes?: number | undefined;
}

const READERS: Record<FileFormat, (file: string) => AsyncGenerator<ReadResult>> = {
  csv: readCsv,
  vcard: readVcard,
};

function formatOfName(name: string): FileFormat | undefined {
  const extension = extname(name).toLowerCase();
  if (extension === '.vcf' || extension === '.vcard') return 'vcard';
  if (extension === '.csv' || extension === '.tsv' || extension === '.txt') return 'csv';
  return undefined;
}

function formatOfType(contentType: string | undefined): FileFormat | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (!type) return undefined;
  if (/^(?:text|application)\/(?:x-)?(?:vcard|directory)$/.test(type)) return 'vcard';
  if (/^(?:text|application)\/(?:x-)?(?:csv|comma-separated-values|tab-separated-values)$/.test(type))
    return 'csv';
  return undefined;
}

/** A file whose first non-blank text is BEGIN:VCARD is a vCard file; anything else is read as CSV. */
async function sniff(file: string): Promise<FileFormat> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const start = buffer
      .toString('utf8', 0, bytesRead)
      .replace(/^\uFEFF/, '')
      .trimStart();
    return /^BEGIN:VCARD/i.test(start) ? 'vcard' : 'csv';
  } finally {
    await handle.close();
  }
}

/** Runs `start`, settling with it or rejecting with the signal's reason as soon as it is aborted. */
function abortable<T>(start: () => Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return raceAbort(signal, start());
}

/**
 * The headers sent to the URL: `headers` as written, `headersEnv` and `headersFile` read now (as
 * the `...Env` and `...File` forms of other secrets). Errors name the setting, never a value.
 */
function headersOf(config: FileSourceConfig, baseDir: string): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  const given = new Map<string, string>();
  const add = (setting: string, header: string, value: string) => {
    const earlier = given.get(header.toLowerCase());
    if (earlier !== undefined) {
      throw new Error(
        `give ${header} once, in headers, headersEnv or headersFile (${earlier} and ${setting})`,
      );
    }
    if (/[\r\n]/.test(value)) throw new Error(`${setting}.${header}: the value must be one line`);
    given.set(header.toLowerCase(), setting);
    headers[header] = value;
  };
  for (const [header, value] of Object.entries(config.headers ?? {})) add('headers', header, value);
  for (const [header, variable] of Object.entries(config.headersEnv ?? {})) {
    add('headersEnv', header, secretFromEnv(variable, `headersEnv.${header}`, process.env));
  }
  for (const [header, path] of Object.entries(config.headersFile ?? {})) {
    add('headersFile', header, secretFromFile(path, `headersFile.${header}`, baseDir));
  }
  return given.size > 0 ? headers : undefined;
}

/** A message that names a temporary file names what it was downloaded from instead. */
function relabel(error: unknown, file: string, label: string): unknown {
  if (!(error instanceof Error) || !error.message.includes(file)) return error;
  return new Error(error.message.split(file).join(label), { cause: error });
}

/**
 * The file source. `list` reads the whole file each time (a file has no change feed); `version`
 * tells the sync engine whether it changed since the last sync, so an unchanged file is not read.
 */
export function createFileSource(config: FileSourceConfig, deps: SourceDeps): Source {
  const { name } = config;
  if ((config.path === undefined) === (config.url === undefined)) {
    throw new Error(`source "${name}": give either path or url`);
  }
  const headers = headersOf(config, deps.baseDir);
  if (headers && config.path !== undefined) {
    throw new Error(`source "${name}": headers are sent to a url only`);
  }
  const logger: Logger = deps.logger;
  const maxBytes = config.maxBytes ?? DEFAULT_MAX_BYTES;
  const path = config.path === undefined ? undefined : resolve(deps.baseDir, config.path);
  const remote: Remote | undefined = config.url === undefined ? undefined : remoteOf(config.url, headers);
  const label = path ?? remote!.label;

  const calls = createCalls(name);

  /** Size and modification time of the file; a clear message when it cannot be read. */
  async function fileVersion(file: string, signal: AbortSignal): Promise<string> {
    let info: BigIntStats;
    try {
      info = await abortable(() => stat(file, { bigint: true }), signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'error');
      throw new Error(`${file}: cannot be read (${why})`, { cause: error });
    }
    if (!info.isFile()) throw new Error(`${file}: not a file`);
    return `size ${info.size} mtime ${info.mtimeNs}`;
  }

  /** The file's contacts in batches; entries the reader cannot use are logged and skipped. */
  async function* batches(
    file: string,
    format: FileFormat,
    signal: AbortSignal,
  ): AsyncGenerator<RawContact[]> {
    let batch: RawContact[] = [];
    let entries = 0;
    let skipped = 0;
    try {
      for await (const entry of READERS[format](file)) {
        signal.throwIfAborted();
        entries++;
        if ('error' in entry) {
          if (skipped++ < LOGGED_SKIPS)
            logger.warn({ file: label, line: entry.line, reason: entry.error }, 'entry skipped');
          continue;
        }
        batch.push(entry.raw);
        if (batch.length >= BATCH) {
          yield batch;
          batch = [];
        }
      }
    } catch (error) {
      throw relabel(error, file, label);
    }
    // Like a CSV file without a header row: most likely a wrong or truncated file, not an empty list.
    if (format === 'vcard' && entries === 0) throw new Error(`${label}: no vCard in the file (BEGIN:VCARD)`);
    if (skipped > 0) logger.warn({ file: label, skipped }, 'entries skipped in the file');
    if (batch.length > 0) yield batch;
  }

  async function* listFile(file: string, signal: AbortSignal): AsyncGenerator<RawContact[]> {
    const before = await fileVersion(file, signal);
    const format = config.format ?? formatOfName(file) ?? (await sniff(file));
    yield* batches(file, format, signal);
    // A file being written while it was read gives a partial list, which must not replace the mirror.
    if ((await fileVersion(file, signal)) !== before) {
      throw new Error(`${file}: changed while it was read; it is read again at the next sync`);
    }
  }

  async function* listUrl(at: Remote, signal: AbortSignal): AsyncGenerator<RawContact[]> {
    const fetched = await download(at, signal, maxBytes);
    try {
      const format =
        config.format ??
        formatOfType(fetched.contentType) ??
        formatOfName(new URL(at.url).pathname) ??
        (await sniff(fetched.file));
      yield* batches(fetched.file, format, signal);
    } finally {
      await fetched.remove();
    }
  }

  return {
    type: 'file',
    name,

    async *list(options: ListOptions): AsyncGenerator<readonly RawContact[]> {
      // The whole file every time, whatever `since`: entries replace ones with the same id.
      const call = calls.begin(options.signal);
      try {
        if (path !== undefined) yield* listFile(path, call.signal);
        else yield* listUrl(remote!, call.signal);
      } finally {
        call.end();
      }
    },

    async version(options: CallOptions): Promise<string | undefined> {
      const call = calls.begin(options.signal);
      try {
        return path !== undefined
          ? await fileVersion(path, call.signal)
          : await remoteVersion(remote!, call.signal);
      } finally {
        call.end();
      }
    },

    async close(): Promise<void> {
      calls.close();
    },
  };
}
