import * as z from 'zod';
import { first, parsePath } from '../util/json-path.js';
import { parseTemplate, render, type Template } from '../util/template.js';

/**
 * The declarative HTTP request of rest sources and rest actions: a method, a URL, query, headers
 * and a body written as templates (`{name}`, see util/template.ts), compiled once at start; and the
 * paths that read what an answer says.
 */

/** A request as configured; each user (source, action) checks its own methods and variables. */
export interface RequestTemplate {
  readonly method: string;
  readonly url: string;
  readonly query?: Readonly<Record<string, string>> | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: string | Readonly<Record<string, unknown>> | readonly unknown[] | undefined;
}

type Body =
  | { readonly kind: 'text'; readonly template: Template }
  | { readonly kind: 'tree'; readonly tree: unknown };

export interface CompiledRequest {
  readonly method: string;
  readonly url: Template;
  readonly query: readonly (readonly [string, Template])[];
  readonly headers: readonly (readonly [string, Template])[];
  readonly body: Body | undefined;
  /** Every variable the request uses. */
  readonly names: ReadonlySet<string>;
  /** `POST /crm/v3/objects/contacts/search`: names the request in errors, without values. */
  readonly label: string;
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Body structure with every text turned into a template. */
function compileTree(value: unknown, names: Set<string>): unknown {
  if (typeof value === 'string') {
    const template = parseTemplate(value);
    for (const name of template.names) names.add(name);
    return template;
  }
  if (Array.isArray(value)) return value.map((item) => compileTree(item, names));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, compileTree(item, names)]));
  }
  return value;
}

export const isTemplate = (value: unknown): value is Template =>
  typeof value === 'object' && value !== null && 'parts' in value && 'names' in value && 'source' in value;

export function compileRequest(
  config: RequestTemplate,
  setting: string,
  baseUrl: string | undefined,
): CompiledRequest {
  const names = new Set<string>();
  const take = (text: string) => {
    const template = parseTemplate(text);
    for (const name of template.names) names.add(name);
    return template;
  };
  if (!ABSOLUTE.test(config.url) && !baseUrl) {
    throw new Error(`${setting}.url "${config.url}" is relative: set baseUrl, or write the full URL`);
  }
  const url = take(config.url);
  const query = Object.entries(config.query ?? {}).map(([name, text]) => [name, take(text)] as const);
  const headers = Object.entries(config.headers ?? {}).map(
    ([name, text]) => [name.toLowerCase(), take(text)] as const,
  );
  let body: Body | undefined;
  if (typeof config.body === 'string') body = { kind: 'text', template: take(config.body) };
  else if (config.body !== undefined) body = { kind: 'tree', tree: compileTree(config.body, names) };
  const label = `${config.method} ${config.url.split('?')[0]}`;
  return { method: config.method, url, query, headers, body, names, label };
}

export function joinUrl(baseUrl: string | undefined, text: string): string {
  if (ABSOLUTE.test(text) || !baseUrl) return text;
  return `${baseUrl.replace(/\/+$/, '')}/${text.replace(/^\/+/, '')}`;
}

/** A path into a response or a record, checked here, compiled when the source or action is created. */
export const answerPath = z
  .string({
    error: (issue) => (issue.input === undefined ? 'is required' : 'must be a path such as properties.phone'),
  })
  .superRefine((value, ctx) => {
    try {
      parsePath(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid path: ${(error as Error).message}` });
    }
  });

/** A URL template whose `{path}`s are read in an answer or a record. */
export const uriTemplate = z.string().superRefine((value, ctx) => {
  for (const name of parseTemplate(value).names) {
    try {
      parsePath(name);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `{${name}} is not a valid path: ${(error as Error).message}` });
    }
  }
});

type Scalar = string | number | boolean;
const isScalar = (value: unknown): value is Scalar =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** A link field: a path, or a template whose `{path}`s are read in the record (`{id}`: the contact's id). */
export function link(
  config: string | undefined,
): ((record: unknown, id: unknown) => string | undefined) | undefined {
  if (config === undefined) return undefined;
  const template: Template = parseTemplate(config);
  if (template.names.length === 0 && !/^[a-z][a-z0-9+.-]*:/i.test(config)) {
    const path = parsePath(config);
    return (record) => {
      const value = first(record, path);
      return isScalar(value) ? String(value) : undefined;
    };
  }
  const paths = new Map(template.names.map((name) => [name, parsePath(name)]));
  return (record, id) => {
    const vars: Record<string, string> = {};
    for (const [name, path] of paths) {
      const value = name === 'id' && id !== undefined ? id : first(record, path);
      if (!isScalar(value) || String(value) === '') return undefined;
      vars[name] = String(value);
    }
    return render(template, vars, 'url');
  };
}
