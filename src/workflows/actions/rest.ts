import * as z from 'zod';
import { type Auth, createAuth } from '../../net/auth.js';
import { authSchema } from '../../net/auth-schema.js';
import { headerName, noLineBreak } from '../../net/headers.js';
import { lowerCaseHeaders } from '../../net/http-client.js';
import {
  type CompiledRequest,
  compileRequest,
  isTemplate,
  joinUrl,
  answerPath as responsePath,
  uriTemplate,
} from '../../net/request-template.js';
import { isUnset, parseTemplate, render, renderValue, type Vars } from '../../util/template.js';
import { callVariables, isCallVariable, RESERVED_NAMES, VARIABLES_HELP } from './call-variables.js';
import { failureOf, readJson, resultMapper, sendAuthorized, unreachable } from './http-answer.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';

/** A rest action creates or changes a record: POST, PUT or PATCH. */
const METHODS = ['POST', 'PUT', 'PATCH'] as const;

const VALUE_NAME = /^[A-Za-z][\w-]*$/;

/** An update's variables: the record the first delivery made. */
const RECORD_VARIABLES = ['record.id', 'record.url'];

/** The default update of a record a request made: PATCH at its URL and id, or the PUT/PATCH again. */
function defaultUpdate(request: RestActionConfig['request']): RestActionConfig['request'] {
  if (request.method !== 'POST') return request;
  const [path = '', query] = request.url.split(/\?(.*)/s);
  const url = `${path.replace(/\/+$/, '')}/{record.id}${query ? `?${query}` : ''}`;
  return { ...request, method: 'PATCH', url };
}

/** A variable of the config's own: another variable's value translated, e.g. incoming → INBOUND. */
const valueSchema = z
  .object({
    /** The variable translated, e.g. `call.direction` (braces optional). */
    from: z
      .string()
      .min(1)
      .transform((name) => name.replace(/^\{(.*)\}$/, '$1')),
    /** Its values and what to send instead. */
    map: z.record(z.string(), z.union([z.string(), z.number()])),
    /** Sent for a value not in `map`; without it, such a value is no value. */
    default: z.union([z.string(), z.number()]).optional(),
  })
  .strict();

const requestSchema = z
  .object({
    method: z
      .string()
      .transform((value) => value.toUpperCase())
      .pipe(z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` }))
      .default('POST'),
    /** Absolute, or relative to `baseUrl`. Values are URL-encoded. */
    url: z.string().refine((value) => value.trim() !== '', 'must not be empty'),
    query: z.record(z.string().min(1), z.string()).optional(),
    headers: z.record(headerName, z.string().refine(noLineBreak, 'must be one line')).optional(),
    /** JSON text (values JSON-escaped), or a YAML/JSON structure whose texts are templates. */
    body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())], {
      error: 'must be JSON text, an object or a list',
    }),
  })
  .strict();

/** Sends one HTTP request per delivery to a CRM's API, built from templates of the call. */
export const restActionSchema = z
  .object({
    type: z.literal('rest'),
    /** Base of a relative `request.url`, e.g. https://api.hubapi.com */
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** Headers sent as they are (not templates). */
    headers: z.record(headerName, z.string().refine(noLineBreak, 'must be one line')).optional(),
    auth: authSchema,
    /** Variables of the config's own, `{name}` in templates: translations of the call's values. */
    values: z
      .record(
        z.string().regex(VALUE_NAME, 'must be a name such as direction (letters, digits, _ and -)'),
        valueSchema,
      )
      .default({}),
    request: requestSchema,
    /**
     * For a call with no matched contact: a request that creates the contact first; the id its
     * answer gives (at `response.id`) is then `{contact.id}` in `request`.
     */
    createContact: z
      .object({
        request: requestSchema,
        response: z
          .object({ id: responsePath.default('id') })
          .strict()
          .prefault({}),
      })
      .strict()
      .optional(),
    /**
     * How a call that changes after its record was made updates it (`{record.id}`, `{record.url}`: the
     * record made). By default a POST's record is PATCHed at `<request.url>/{record.id}` with the same
     * body, and a PUT or PATCH request is sent again; `false` sends no updates.
     */
    update: z.union([z.literal(false), z.object({ request: requestSchema }).strict()]).optional(),
    /** Where the answer says what was created: `id` a path; `url` a path or a URL template with `{id}`. */
    response: z
      .object({ id: responsePath.default('id'), url: uriTemplate.optional() })
      .strict()
      .prefault({}),
    /** Longest time an attempt may take (a token request and a retry after a 401 included). */
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(10_000),
    ...retrySettings,
  })
  .strict()
  .superRefine(checkVariables);

export type RestActionConfig = z.output<typeof restActionSchema>;

type Issues = z.core.$RefinementCtx<RestActionConfig>;

/** Unknown variables are configuration errors, except the call's fields, which are open-ended. */
function checkVariables(config: RestActionConfig, ctx: Issues): void {
  const own = Object.keys(config.values);
  const ownHelp = own.length > 0 ? `, and ${own.map((name) => `{${name}}`).join(', ')} (values)` : '';
  const check = (text: string, path: (string | number)[]) => {
    const updating = path[0] === 'update';
    for (const name of parseTemplate(text).names) {
      if (isCallVariable(name) || own.includes(name)) continue;
      if (updating && RECORD_VARIABLES.includes(name)) continue;
      ctx.addIssue({
        code: 'custom',
        path,
        message: `unknown variable {${name}}: rest actions know ${VARIABLES_HELP}${ownHelp}${updating ? ', and {record.id}, {record.url} (the record updated)' : ''}`,
      });
    }
  };
  const walk = (value: unknown, path: (string | number)[]) => {
    if (typeof value === 'string') check(value, path);
    else if (typeof value === 'object' && value !== null) {
      // A list's elements too, by their index.
      for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
    }
  };
  const requests: [RestActionConfig['request'], string[]][] = [[config.request, ['request']]];
  if (config.createContact) requests.push([config.createContact.request, ['createContact', 'request']]);
  if (config.update) requests.push([config.update.request, ['update', 'request']]);
  for (const [request, at] of requests) {
    check(request.url, [...at, 'url']);
    for (const [name, text] of Object.entries(request.query ?? {})) check(text, [...at, 'query', name]);
    for (const [name, text] of Object.entries(request.headers ?? {})) check(text, [...at, 'headers', name]);
    walk(request.body, [...at, 'body']);
  }
  for (const [name, value] of Object.entries(config.values)) {
    if (RESERVED_NAMES.includes(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['values', name],
        message: `"${name}" is a name callcard gives itself`,
      });
    }
    if (!isCallVariable(value.from)) {
      ctx.addIssue({
        code: 'custom',
        path: ['values', name, 'from'],
        message: `unknown variable ${value.from}: values translate ${VARIABLES_HELP}`,
      });
    }
  }
}

/** Every variable a part of a compiled body uses. */
function namesIn(value: unknown, names: string[] = []): string[] {
  if (isTemplate(value)) names.push(...value.names);
  else if (Array.isArray(value)) for (const item of value) namesIn(item, names);
  else if (typeof value === 'object' && value !== null)
    for (const item of Object.values(value)) namesIn(item, names);
  return names;
}

const hasValue = (vars: Vars, name: string) => vars[name] !== undefined && vars[name] !== '';

/**
 * A body written as a structure, rendered. As in the rest source, a field that is exactly one
 * variable keeps its type, and a field whose variables all lack a value is left out; here this also
 * holds for a nested object or list element: `associations` that only use `{contact.id}` are left
 * out for a call without a contact, rather than sent empty.
 */
function renderBody(value: unknown, vars: Vars): unknown {
  if (isTemplate(value)) return renderValue(value, vars);
  const unset = (item: unknown) => {
    const names = namesIn(item);
    return names.length > 0 && !names.some((name) => hasValue(vars, name));
  };
  if (Array.isArray(value)) return value.filter((item) => !unset(item)).map((item) => renderBody(item, vars));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (!unset(item)) out[key] = renderBody(item, vars);
    return out;
  }
  return value;
}

interface Built {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The request for one delivery; a template that cannot give a valid request is a permanent failure. */
function build(
  request: CompiledRequest,
  vars: Vars,
  settings: { readonly baseUrl: string | undefined; readonly contentType: string; readonly where: string },
): Built {
  const { baseUrl, where } = settings;
  const refuse = (message: string): never => {
    throw new DeliveryError(`${where}: ${message}`, { permanent: true });
  };
  const missing = request.url.names.filter((name) => !hasValue(vars, name));
  if (missing.length > 0) refuse(`the URL needs {${missing.join('}, {')}}, which this call has no value for`);
  let url: URL;
  try {
    url = new URL(joinUrl(baseUrl, render(request.url, vars, 'url')));
  } catch {
    return refuse('the URL template does not give a valid URL');
  }
  for (const [name, template] of request.query) {
    if (!isUnset(template, vars)) url.searchParams.append(name, render(template, vars, 'raw'));
  }
  const headers: Record<string, string> = {};
  for (const [name, template] of request.headers) {
    if (isUnset(template, vars)) continue;
    const value = render(template, vars, 'raw');
    if (/[\r\n\0]/.test(value)) refuse(`header ${name} would break (a value with a line break)`);
    headers[name] = value;
  }
  let body: string;
  if (request.body?.kind === 'text') {
    body = render(request.body.template, vars, 'json');
    if (/json/i.test(headers['content-type'] ?? settings.contentType)) {
      try {
        JSON.parse(body);
      } catch {
        refuse('the body template does not give valid JSON (a variable without a value outside quotes?)');
      }
    }
  } else body = JSON.stringify(request.body ? renderBody(request.body.tree, vars) : {});
  return { url, headers, body };
}

/** Test seams: the environment secrets are read from, and the clock of OAuth2 tokens. */
export interface RestActionOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
}

/**
 * A declarative HTTP request to a CRM's API for each call: the request is built from templates of
 * the call and the contact, the answer mapped to the id and URL of the record it made. The delivery
 * id goes in the `Idempotency-Key` header, stable across attempts. A 401 lets the auth renew its
 * token, and the request is sent once more within the attempt.
 */
export function createRestAction(
  config: RestActionConfig,
  deps: ActionDeps,
  options: RestActionOptions = {},
): Action {
  let auth: Auth;
  let request: CompiledRequest;
  let contactRequest: CompiledRequest | undefined;
  let updateRequest: CompiledRequest | undefined;
  try {
    auth = createAuth(
      config.auth,
      { baseDir: deps.baseDir, env: options.env ?? process.env },
      {
        timeoutMs: config.timeoutMs,
        ...(options.now && { now: options.now }),
        ...(deps.connections && { connections: deps.connections }),
      },
    );
    request = compileRequest(config.request, 'request', config.baseUrl);
    if (config.update !== false) {
      updateRequest = compileRequest(
        config.update?.request ?? defaultUpdate(config.request),
        'update',
        config.baseUrl,
      );
    }
    if (config.createContact) {
      contactRequest = compileRequest(config.createContact.request, 'createContact', config.baseUrl);
    }
  } catch (error) {
    throw new Error(`rest action: ${(error as Error).message}`);
  }
  const where = `rest action (${request.label})`;
  const fixedHeaders: Record<string, string> = {
    accept: 'application/json',
    ...lowerCaseHeaders(config.headers),
  };
  const buildSettings = {
    baseUrl: config.baseUrl,
    contentType: fixedHeaders['content-type'] ?? 'application/json',
    where,
  };
  const values = Object.entries(config.values);
  const mapResult = resultMapper(config.response);
  const mapContact = config.createContact
    ? resultMapper({ id: config.createContact.response.id })
    : undefined;

  function variables(payload: Readonly<Record<string, unknown>>, deliveryId: string): Vars {
    const vars: Record<string, string | number | undefined> = callVariables(payload, deliveryId);
    for (const [name, value] of values) {
      const from = vars[value.from];
      const key = from === undefined ? undefined : String(from);
      vars[name] = key !== undefined && Object.hasOwn(value.map, key) ? value.map[key] : value.default;
    }
    return vars;
  }

  /** Sends one request of the attempt and reads its answer; failures classified for the outbox. */
  async function exchange(
    compiled: CompiledRequest,
    vars: Vars,
    idempotencyKey: string,
    signal: AbortSignal,
  ): Promise<unknown> {
    const built = build(compiled, vars, { ...buildSettings, where: `rest action (${compiled.label})` });
    const timeout = AbortSignal.timeout(config.timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    let response: Response;
    try {
      const headers: Record<string, string> = { ...fixedHeaders, ...built.headers };
      headers['content-type'] ??= 'application/json';
      headers['idempotency-key'] = idempotencyKey;
      response = await sendAuthorized(
        auth,
        built.url,
        { method: compiled.method, headers, body: built.body },
        both,
        where,
      );
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      throw unreachable(where, error, {
        timedOut: timeout.aborted,
        timeoutMs: config.timeoutMs,
        cancelled: signal.aborted,
      });
    }
    if (!response.ok) throw await failureOf(where, response);
    // The record exists once the target said 2xx: an answer that cannot be read is still a success.
    return readJson(response);
  }

  return {
    type: 'rest',
    updates: updateRequest !== undefined,
    async run(payload, { signal, deliveryId, update }) {
      const vars = variables(payload, deliveryId) as Record<string, string | number | undefined>;
      if (update && updateRequest) {
        // The record the first delivery made changes; no contact is created for it.
        if (!update.made) {
          throw new DeliveryError(
            `rest action (${updateRequest.label}): nothing to update, the first delivery (${update.of}) was not made`,
            { permanent: true },
          );
        }
        vars['record.id'] = update.id;
        vars['record.url'] = update.url;
        return mapResult(await exchange(updateRequest, vars, deliveryId, signal));
      }
      if (contactRequest && mapContact && !hasValue(vars, 'contact.id')) {
        // Its own key, stable across attempts: a target that keeps keys makes one contact.
        const created = mapContact(await exchange(contactRequest, vars, `${deliveryId}:contact`, signal));
        if (!created.id) {
          throw new DeliveryError(`rest action (${contactRequest.label}): the answer gives no contact id`);
        }
        vars['contact.id'] = created.id;
      }
      return mapResult(await exchange(request, vars, deliveryId, signal));
    },
  };
}
