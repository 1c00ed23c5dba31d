import { createReadStream } from 'node:fs';
import { type Options, parse } from 'csv-parse';
import { type ColumnRole, columnRoles, toRawContact } from '../contacts/columns.js';
import type { ReadResult } from './types.js';

/** Guesses the delimiter from the header line: spreadsheets in CH, DE and AT often write ";". */
function sniffDelimiter(headerLine: string): string {
  const unquoted = headerLine.replace(/"[^"]*"/g, '');
  const counts = [',', ';', '\t', '|'].map((d) => [d, unquoted.split(d).length - 1] as const);
  return counts.reduce((best, next) => (next[1] > best[1] ? next : best))[0];
}

async function readHeaderLine(file: string): Promise<string> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 });
  let text = '';
  for await (const chunk of stream) {
    text += chunk;
    const end = text.indexOf('\n');
    if (end >= 0) {
      stream.destroy();
      return text.slice(0, end);
    }
  }
  return text;
}

// Line breaks inside one record's fields (a quoted field over several lines): the record spans one
// line more for each. The parser counts a CRLF as two, so its own line count is not used.
const BREAK = /\r\n|\r|\n/g;
function breaksWithin(values: readonly string[]): { breaks: number; crlf: number } | undefined {
  let found: { breaks: number; crlf: number } | undefined;
  for (const value of values) {
    if (value.indexOf('\n') < 0 && value.indexOf('\r') < 0) continue;
    found ??= { breaks: 0, crlf: 0 };
    for (const [text] of value.matchAll(BREAK)) {
      found.breaks++;
      if (text.length === 2) found.crlf++;
    }
  }
  return found;
}

type Row = { line: number; values: string[] } | { line: number; error: string };

/**
 * Reads a CSV file with a header row, streaming: memory does not grow with the file. Each entry
 * carries the line it starts on, counted here: a quoted field may span lines, in LF or CRLF files.
 */
export async function* readCsv(file: string): AsyncGenerator<ReadResult> {
  const delimiter = sniffDelimiter(await readHeaderLine(file));
  /** The last line read. */
  let lines = 0;
  /** CRLFs inside fields so far: the parser's own line count is ahead by as many. */
  let crlfs = 0;
  const errors: { line: number; error: string }[] = [];
  const input = createReadStream(file);
  const parser = input.pipe(
    parse({
      delimiter,
      bom: true,
      // Hand-edited files: a stray quote inside a field is kept as text rather than failing the row.
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: false,
      skip_records_with_error: true,
      on_record: (record: string[]): Row => {
        const line = lines + 1;
        const within = breaksWithin(record);
        lines = within ? line + within.breaks : line;
        if (within) crlfs += within.crlf;
        return { line, values: record };
      },
      on_skip: (error: (Error & { lines?: number }) | undefined) => {
        if (!error) return undefined;
        const line = lines + 1;
        // Where the parser stopped, in lines as counted here (a record it cannot read is the last).
        lines = Math.max(line, (error.lines ?? line) - crlfs);
        errors.push({ line, error: `not valid CSV (${error.message})` });
        return undefined;
      },
    } as unknown as Options),
  );
  let roles: ColumnRole[] | undefined;
  // A reader stopped early (an error, a cancelled sync) must not keep the file open.
  try {
    yield* rows();
  } finally {
    input.destroy();
  }
  if (!roles) throw new Error(`${file}: empty, no header row`);

  async function* rows(): AsyncGenerator<ReadResult> {
    for await (const row of parser as AsyncIterable<Row>) {
      while (errors.length > 0) yield errors.shift()!;
      if ('error' in row) continue;
      if (row.values.length === 1 && row.values[0]!.trim() === '') continue;
      if (!roles) {
        roles = columnRoles(row.values);
        if (!roles.some((role) => role.kind === 'phone')) {
          throw new Error(`${file}: no phone column in the header (phone, mobile, tel, fax...)`);
        }
        continue;
      }
      yield { line: row.line, raw: toRawContact(roles, row.values) };
    }
    yield* errors;
  }
}
