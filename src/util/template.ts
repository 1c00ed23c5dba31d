/**
 * The template language of requests (rest sources, rest actions) and links, kept tiny on purpose:
 *
 * - `{name}` is replaced by the value of a variable; any other text is copied as it is.
 * - In a URL, values are URL-encoded; in a JSON body written as text, they are JSON-escaped (put the
 *   quotes around them yourself: `"value": "{e164}"`); in headers, query parameters and bodies
 *   written as YAML objects, they are inserted as they are (and encoded when the request is built).
 * - A variable without a value is empty. A query parameter, header or body field whose template uses
 *   only variables without a value is left out (so `after: '{cursor}'` is not sent on the first page).
 * - In a body written as an object, a field that is exactly one variable keeps the variable's type:
 *   `limit: '{limit}'` sends the number 100, not the text "100".
 *
 * JSON braces never clash with variables: `{"a":1}` holds a quote, and variable names do not.
 */

/** Values a template may refer to; `undefined` or `''` means "no value". */
export type Vars = Readonly<Record<string, string | number | undefined>>;

export type Part = string | { readonly name: string };

export interface Template {
  readonly source: string;
  readonly parts: readonly Part[];
  /** Names of the variables used, in order, without repeats. */
  readonly names: readonly string[];
}

export type Encoding = 'url' | 'json' | 'raw';

// A name: anything but braces, white space and quotes, so JSON and GraphQL text is left alone.
const VARIABLE = /\{([^{}\s"']+)\}/g;

export function parseTemplate(source: string): Template {
  const parts: Part[] = [];
  const names: string[] = [];
  let last = 0;
  for (const match of source.matchAll(VARIABLE)) {
    const name = match[1]!;
    if (match.index > last) parts.push(source.slice(last, match.index));
    parts.push({ name });
    if (!names.includes(name)) names.push(name);
    last = match.index + match[0].length;
  }
  if (last < source.length) parts.push(source.slice(last));
  return { source, parts, names };
}

const hasValue = (value: string | number | undefined): value is string | number =>
  value !== undefined && value !== '';

/** True when the template uses variables and none of them has a value: the field is left out. */
export function isUnset(template: Template, vars: Vars): boolean {
  return template.names.length > 0 && template.names.every((name) => !hasValue(vars[name]));
}

function encode(value: string, encoding: Encoding): string {
  if (encoding === 'url') return encodeURIComponent(value);
  if (encoding === 'json') return JSON.stringify(value).slice(1, -1);
  return value;
}

export function render(template: Template, vars: Vars, encoding: Encoding): string {
  let out = '';
  for (const part of template.parts) {
    if (typeof part === 'string') out += part;
    else {
      const value = vars[part.name];
      if (hasValue(value)) out += encode(String(value), encoding);
    }
  }
  return out;
}

/** A template that is exactly one variable renders to that variable's value, type kept. */
export function renderValue(template: Template, vars: Vars): string | number {
  const [only] = template.parts;
  if (template.parts.length === 1 && only !== undefined && typeof only !== 'string') {
    const value = vars[only.name];
    if (typeof value === 'number') return value;
  }
  return render(template, vars, 'raw');
}

/**
 * A link: every `{name}` filled with `read(name)`, URL-encoded; undefined when one of them has no
 * value (null, undefined or ''), so a record without its id gets no link rather than a broken one.
 */
export function fillLink(
  source: string,
  read: (name: string) => string | number | null | undefined,
): string | undefined {
  const template = parseTemplate(source);
  const vars: Record<string, string | number> = {};
  for (const name of template.names) {
    const value = read(name);
    if (value === null || value === undefined || value === '') return undefined;
    vars[name] = value;
  }
  return render(template, vars, 'url');
}
