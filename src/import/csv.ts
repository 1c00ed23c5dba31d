import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import type { CountryCode } from 'libphonenumber-js';
import { buildContact, type RawContact } from './contact-builder.js';
import type { ReadResult } from './types.js';

/** A column's role, from its header. */
type Role =
  | { kind: 'id' | 'name' | 'firstName' | 'lastName' | 'company' | 'contactUri' | 'companyUri' | 'country' }
  | { kind: 'phone'; label: string }
  | { kind: 'custom'; label: string };

const FIELDS: Readonly<Record<string, Role['kind']>> = {
  id: 'id',
  name: 'name',
  full_name: 'name',
  first_name: 'firstName',
  firstname: 'firstName',
  last_name: 'lastName',
  lastname: 'lastName',
  company: 'company',
  organization: 'company',
  organisation: 'company',
  contact_uri: 'contactUri',
  company_uri: 'companyUri',
  country: 'country',
};

// A header word that names a number: "Phone", "Mobile phone", "tel_private", "Fax 2", "Natel", "Handy".
const PHONE_WORD =
  /^(?:(?:tele?)?phones?|mobile?|mob|cell(?:phone)?|tel|telefon|telephone|telefono|tél[ée]?phone|t[ée]l|fax|telefax|handy|natel|gsm|portable|cellulare|pager|sip|voip)\d*$/;

function roleOf(header: string): Role {
  const normalized = header
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_|_$/g, '');
  const field = FIELDS[normalized];
  if (field) return { kind: field } as Role;
  if (normalized.split('_').some((word) => PHONE_WORD.test(word)))
    return { kind: 'phone', label: header.trim() };
  return { kind: 'custom', label: header.trim() };
}

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

/** Reads a CSV file with a header row, streaming: memory does not grow with the file. */
export async function* readCsv(file: string, region: CountryCode): AsyncGenerator<ReadResult> {
  const delimiter = sniffDelimiter(await readHeaderLine(file));
  const skipped: ReadResult[] = [];
  const parser = createReadStream(file).pipe(
    parse({
      delimiter,
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (error) => {
        if (error)
          skipped.push({ line: Number(error['lines'] ?? 0), error: `not valid CSV (${error.message})` });
        return undefined;
      },
    }),
  );
  let roles: Role[] | undefined;
  for await (const { record, info } of parser as AsyncIterable<{
    record: string[];
    info: { lines: number };
  }>) {
    while (skipped.length > 0) yield skipped.shift()!;
    if (!roles) {
      roles = record.map(roleOf);
      if (!roles.some((role) => role.kind === 'phone')) {
        throw new Error(`${file}: no phone column in the header (phone, mobile, tel, fax...)`);
      }
      continue;
    }
    const raw = toRawContact(roles, record);
    const built = buildContact(raw, region);
    yield typeof built === 'string'
      ? { line: info.lines, error: built }
      : { line: info.lines, record: built };
  }
  yield* skipped;
}

function toRawContact(roles: readonly Role[], values: readonly string[]): RawContact {
  const raw: RawContact = { phones: [], customData: {} };
  let first = '';
  let last = '';
  roles.forEach((role, index) => {
    const value = values[index]?.trim();
    if (!value) return;
    switch (role.kind) {
      case 'phone':
        raw.phones.push({ value, label: role.label });
        break;
      case 'custom':
        raw.customData[role.label] = value;
        break;
      case 'firstName':
        first = value;
        break;
      case 'lastName':
        last = value;
        break;
      default:
        raw[role.kind] = value;
    }
  });
  if (!raw.name && (first || last)) raw.name = `${first} ${last}`.trim();
  return raw;
}
