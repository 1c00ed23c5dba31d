import { writeFile } from 'node:fs/promises';
import type { RawContact } from '../../contacts/raw-contact.js';
import { readVcard } from '../../import/vcard.js';

/** One vCard resource as the server gave it. */
export interface Card {
  /** Absolute URL of the resource. */
  readonly url: string;
  readonly data: string;
}

export type CardResult = { readonly raw: RawContact } | { readonly error: string };

/**
 * Reads vCard resources with the importer's vCard reader, so a card gives the same contact from a
 * server as from a file. The reader reads files: the cards are written to `file` (a private
 * temporary one), one after the other, and each contact is matched back to its resource by the
 * line it starts on. Results come in the order of `cards`.
 */
export async function readCards(cards: readonly Card[], file: string): Promise<CardResult[]> {
  const starts: number[] = [];
  const parts: string[] = [];
  let lines = 0;
  for (const card of cards) {
    // The reader counts \r, \n and \r\n as line ends, and skips a BOM on the file's first line only.
    const text = card.data.replace(/^\uFEFF/, '').replace(/\r\n|\r|\n/g, '\r\n');
    const part = text.endsWith('\r\n') ? text : `${text}\r\n`;
    starts.push(lines + 1);
    parts.push(part);
    lines += part.split('\r\n').length - 1;
  }
  await writeFile(file, parts.join(''), { mode: 0o600 });

  const results: (CardResult | undefined)[] = cards.map(() => undefined);
  for await (const entry of readVcard(file)) {
    const index = owner(starts, entry.line);
    // A resource holds one vCard (RFC 6352 section 5.1); anything after the first is left out.
    if (index < 0 || results[index] !== undefined) continue;
    results[index] = 'error' in entry ? { error: entry.error } : { raw: entry.raw };
  }
  return results.map((result) => result ?? { error: 'no vCard in the resource (BEGIN:VCARD)' });
}

/** Index of the card whose text holds `line`: the last one starting at or before it. */
function owner(starts: readonly number[], line: number): number {
  let low = 0;
  let high = starts.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (starts[middle]! <= line) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
