import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import ICAL from 'ical.js';
import type { RawContact } from '../contacts/raw-contact.js';
import type { ReadResult } from './types.js';

/** Reads a vCard 3 or 4 file card by card, streaming. */
export async function* readVcard(file: string): AsyncGenerator<ReadResult> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  // A reader stopped early (a cancelled sync) must not keep the file open.
  try {
    yield* cards(lines);
  } finally {
    lines.close();
    input.destroy();
  }
}

async function* cards(lines: AsyncIterable<string>): AsyncGenerator<ReadResult> {
  let card: string[] | undefined;
  let start = 0;
  let number = 0;
  for await (const line of lines) {
    number++;
    const upper = (number === 1 ? line.replace(/^\uFEFF/, '') : line).trim().toUpperCase();
    if (upper === 'BEGIN:VCARD') {
      if (card) yield { line: start, error: 'card has no END:VCARD' };
      card = [line.replace(/^\uFEFF/, '')];
      start = number;
    } else if (card) {
      card.push(line);
      if (upper === 'END:VCARD') {
        yield readCard(card.join('\r\n'), start);
        card = undefined;
      }
    }
  }
  if (card) yield { line: start, error: 'card has no END:VCARD' };
}

function text(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.map(text).filter(Boolean).join(' ').trim() || undefined;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function readCard(source: string, line: number): ReadResult {
  let card: ICAL.Component;
  try {
    card = new ICAL.Component(ICAL.parse(source) as unknown[]);
  } catch (error) {
    return { line, error: `not a valid vCard (${(error as Error).message.split('\n')[0]})` };
  }
  const name = text(card.getFirstPropertyValue('fn')) ?? nameFromN(card.getFirstPropertyValue('n'));
  const org = card.getFirstPropertyValue('org');
  const raw: RawContact = { phones: [], customData: {} };
  const id = text(card.getFirstPropertyValue('uid'));
  if (id) raw.id = id;
  if (name) raw.name = name;
  const company = Array.isArray(org) ? text(org[0]) : text(org);
  if (company) raw.company = company;
  const url = text(card.getFirstPropertyValue('url'));
  if (url) raw.contactUri = url;
  for (const tel of card.getAllProperties('tel')) {
    const value = text(tel.getFirstValue());
    if (!value) continue;
    const type = tel.getParameter('type');
    const label = text(Array.isArray(type) ? type.join(', ') : type);
    raw.phones.push(label ? { value, label } : { value });
  }
  const emails = card
    .getAllProperties('email')
    .map((p) => text(p.getFirstValue()))
    .filter(Boolean);
  if (emails.length > 0) raw.customData['E-mail'] = emails.join(', ');
  const title = text(card.getFirstPropertyValue('title'));
  if (title) raw.customData['Title'] = title;
  return { line, raw };
}

function nameFromN(value: unknown): string | undefined {
  if (!Array.isArray(value)) return text(value);
  const [family, given, additional, prefix, suffix] = value.map(text);
  return [prefix, given, additional, family, suffix].filter(Boolean).join(' ') || undefined;
}
