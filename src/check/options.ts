import { readFileSync } from 'node:fs';

/** Reading what `check` and `simulate` are given: the root URL and the headers to send. */

/** A mistake in what the command was given (exit code 2), with what to write instead. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The root URL as entered in the CUSTOMER-PORTAL, without a trailing slash. The CONNECTOR appends
 * `/Lookup` itself, so a URL that already ends with it would be called as `.../Lookup/Lookup`.
 */
export function parseRootUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UsageError(
      `"${text}" is not a URL; give the root URL, e.g. https://lookup.example.com/services`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`the URL must start with https:// or http://, not ${url.protocol}//`);
  }
  if (url.username || url.password) {
    throw new UsageError("put credentials in a header (--header 'Authorization: ...'), not in the URL");
  }
  if (url.search || url.hash) {
    throw new UsageError(
      'give the root URL without a query or fragment: the CONNECTOR sends nothing in the URL',
    );
  }
  const root = url.href.replace(/\/+$/, '');
  if (/\/lookup$/i.test(url.pathname.replace(/\/+$/, ''))) {
    throw new UsageError(
      `give the root URL, without /Lookup (${root.replace(/\/lookup$/i, '') || root}): the CONNECTOR appends /Lookup and /<workflow> itself`,
    );
  }
  return root;
}

// An HTTP token (RFC 9110, 5.6.2).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function header(name: string, value: string, given: string): [string, string] {
  const trimmedName = name.trim();
  const trimmedValue = value.trim();
  if (!HEADER_NAME.test(trimmedName)) throw new UsageError(`${given}: "${trimmedName}" is not a header name`);
  if (trimmedValue === '') throw new UsageError(`${given}: the value of ${trimmedName} is empty`);
  if (/[\r\n\0]/.test(trimmedValue)) {
    throw new UsageError(`${given}: the value of ${trimmedName} spans several lines`);
  }
  return [trimmedName, trimmedValue];
}

/** `--header 'Name: value'`. The value is never echoed in messages. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon < 0) throw new UsageError(`--header "${text.slice(0, 40)}…": write it as 'Name: value'`);
  return header(text.slice(0, colon), text.slice(colon + 1), `--header ${text.slice(0, colon).trim()}`);
}

function nameAnd(spec: string, flag: string, what: string): [string, string] {
  const equals = spec.indexOf('=');
  if (equals < 1) throw new UsageError(`${flag} "${spec}": write it as Name=${what}`);
  return [spec.slice(0, equals), spec.slice(equals + 1)];
}

/** `--header-env Name=VAR`: the value from an environment variable, kept out of shell history. */
export function headerFromEnv(spec: string, env: NodeJS.ProcessEnv): [string, string] {
  const [name, variable] = nameAnd(spec, '--header-env', 'VARIABLE');
  const value = env[variable];
  if (value === undefined) throw new UsageError(`--header-env ${spec}: ${variable} is not set`);
  return header(name, value, `--header-env ${spec}`);
}

/** `--header-file Name=FILE`: the value from a file (e.g. callcard's data/token, or a secret mount). */
export function headerFromFile(spec: string): [string, string] {
  const [name, file] = nameAnd(spec, '--header-file', 'FILE');
  let value: string;
  try {
    value = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--header-file ${spec}: cannot read ${file}${code ? ` (${code})` : ''}`);
  }
  return header(name, value, `--header-file ${spec}`);
}

export interface HeaderFlags {
  readonly header?: readonly string[];
  readonly headerEnv?: readonly string[];
  readonly headerFile?: readonly string[];
}

/** Every header given, by name; the same name twice is a mistake, not a silent override. */
export function collectHeaders(
  flags: HeaderFlags,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const pairs = [
    ...(flags.header ?? []).map(parseHeader),
    ...(flags.headerEnv ?? []).map((spec) => headerFromEnv(spec, env)),
    ...(flags.headerFile ?? []).map(headerFromFile),
  ];
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, value] of pairs) {
    if (seen.has(name.toLowerCase())) throw new UsageError(`the header ${name} is given twice`);
    seen.add(name.toLowerCase());
    headers[name] = value;
  }
  return headers;
}
