import { isObject } from './json.js';

/**
 * Paths into a JSON response: `properties.phone`, `phones[*].number`, `emails[0]`, `data["e-mail"]`.
 * - `name` reads a field; applied to a list, it reads the field of every element
 *   (`phoneNumbers.number` is the same as `phoneNumbers[*].number`);
 * - `[*]` takes every element of a list (or every value of an object), `[n]` the n-th (from 0);
 * - `["any key"]` reads a field whose name has dots or brackets;
 * - an empty path (or `$`) is the record itself.
 * A path may give several values; a list at the end gives its elements.
 */

export type Segment =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'all' };

export interface Path {
  readonly source: string;
  readonly segments: readonly Segment[];
}

/** Parses a path; throws an Error with a short message when it is malformed. */
export function parsePath(source: string): Path {
  const segments: Segment[] = [];
  let text = source.trim();
  if (text === '$') text = '';
  else if (text.startsWith('$.') || text.startsWith('$[')) text = text.slice(1).replace(/^\./, '');
  let i = 0;
  let expectSeparator = false;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '[') {
      const end = closingBracket(text, i);
      const inner = text.slice(i + 1, end).trim();
      if (inner === '*') segments.push({ kind: 'all' });
      else if (/^\d+$/.test(inner)) segments.push({ kind: 'index', index: Number(inner) });
      else if (/^(["']).*\1$/.test(inner)) segments.push({ kind: 'key', key: inner.slice(1, -1) });
      else
        throw new Error(`"[${inner}]" must be [*], a number such as [0], or a quoted name such as ["a.b"]`);
      i = end + 1;
      expectSeparator = true;
      continue;
    }
    if (expectSeparator) {
      if (char !== '.') throw new Error(`unexpected "${char}" at position ${i + 1}`);
      i += 1;
    }
    const match = /^[^.[\]]+/.exec(text.slice(i));
    if (!match) throw new Error(`empty field name at position ${i + 1}`);
    segments.push({ kind: 'key', key: match[0] });
    i += match[0].length;
    expectSeparator = true;
  }
  return { source, segments };
}

function closingBracket(text: string, start: number): number {
  const quote = text[start + 1] === '"' || text[start + 1] === "'" ? text[start + 1] : undefined;
  const from = quote ? text.indexOf(quote, start + 2) : start;
  const end = from < 0 ? -1 : text.indexOf(']', from);
  if (end < 0) throw new Error(`"[" at position ${start + 1} is not closed`);
  return end;
}

const present = (value: unknown) => value !== undefined && value !== null;

/**
 * Every value the path reaches, as they are (lists not opened); empty when it reaches nothing.
 * With `keepNull`, a field that is there with `null` counts as reached.
 */
export function reach(value: unknown, path: Path, keepNull = false): unknown[] {
  let current: unknown[] = [value];
  for (const segment of path.segments) {
    const next: unknown[] = [];
    for (const item of current) {
      if (segment.kind === 'key') {
        if (isObject(item)) next.push(item[segment.key]);
        else if (Array.isArray(item))
          for (const element of item) if (isObject(element)) next.push(element[segment.key]);
      } else if (segment.kind === 'index') {
        if (Array.isArray(item)) next.push(item[segment.index]);
      } else if (Array.isArray(item)) next.push(...item);
      else if (isObject(item)) next.push(...Object.values(item));
    }
    current = next.filter(keepNull ? (item) => item !== undefined : present);
  }
  return current;
}

/** Every value the path reaches, lists at the end opened into their elements. */
export function select(value: unknown, path: Path): unknown[] {
  return reach(value, path).flat(Number.POSITIVE_INFINITY).filter(present);
}

/** The first value the path reaches. */
export function first(value: unknown, path: Path): unknown {
  return select(value, path)[0];
}
