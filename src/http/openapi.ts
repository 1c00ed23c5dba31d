import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify';
import * as z from 'zod';
import { pathPrefix, type Tenant } from '../config/schema.js';
import {
  CallInputs,
  Contact,
  ErrorAnswer,
  HTTP_ERROR_CODES,
  LookupAnswer,
  LookupRequest,
  type WireContact,
  WorkflowAnswer,
  WorkflowRequest,
} from '../connector/schema.js';
import { readCallInputs, readLookupNumber } from '../connector/wire.js';
import { CallcardError, ErrorCodes, ErrorMessages as M } from '../errors.js';
import type { Workflows } from '../workflows/registry.js';
import { CALL_PAGE_PATH } from '../workflows/workflow.js';
import { type ErrorBody, errorBody } from './errors.js';
import { componentSchemas } from './json-schema.js';
import { BODY_LIMIT } from './request.js';
import type { MetricsRoutesOptions } from './routes/metrics.js';

/**
 * The OpenAPI 3.1 description of the API as this app serves it: its schemas are the wire's own
 * (`connector/schema.ts`, which the readers and the serializers use too), its paths and security
 * come from the app's settings (base path, token headers, workflows, public URL), so that it
 * describes this deployment rather than a generic one. The refusals it shows are the readers' own.
 */

type Json = Record<string, unknown>;

/** What the document is built from; names only, never token values. */
export interface ServedApi {
  readonly version: string;
  /** As configured: `/` or `/services/phone`. */
  readonly basePath: string;
  readonly publicUrl?: string;
  /** The header names of each accepted credential set: one set must be sent complete. */
  readonly headerSets: readonly (readonly string[])[];
  /** Every workflow's name; CallFlow is always one of them. */
  readonly workflows: readonly string[];
  /** Whether only listed client addresses may call the API. */
  readonly allowList: boolean;
  /** Present when this app serves `/metrics`. */
  readonly metrics?: { readonly bearer: boolean };
}

const codesWithStatus = (status: number) =>
  HTTP_ERROR_CODES.filter((code) => ErrorCodes[code] === status)
    .map((code) => `\`${code}\``)
    .join(', ');

/**
 * The example answer to a request the reader refuses, with the reader's own code and message; none
 * if the reader accepts it after all (a test catches that).
 */
function refusal(summary: string, read: () => unknown): { summary: string; value: ErrorBody } | undefined {
  try {
    read();
  } catch (error) {
    if (error instanceof CallcardError) return { summary, value: errorBody(error.code, error.message) };
  }
  return undefined;
}

/** Examples by name; an answer's example has the name of the request example that gives it. */
function examples(entries: Record<string, { summary: string; value: unknown } | undefined>): Json {
  return Object.fromEntries(Object.entries(entries).filter(([, example]) => example !== undefined));
}

function json(schema: Json, exampleSet: Json): Json {
  return { 'application/json': { schema, examples: exampleSet } };
}

function errorResponse(status: number, description: string, exampleSet: Json): Json {
  return {
    description: `${description} Codes: ${codesWithStatus(status)}.`,
    content: json(ref('Error'), exampleSet),
  };
}

// The body is read as JSON whatever its Content-Type; text/plain documents that and carries the
// example of a body that is not JSON, which an application/json example cannot hold.
const RAW_BODY = {
  'text/plain': {
    schema: { type: 'string', description: 'The same JSON, sent with another or no Content-Type.' },
    examples: {
      badJson: { summary: 'A body that is not valid JSON', value: '{"inputs": {' },
    },
  },
};

const BAD_JSON = {
  summary: 'The body is not valid JSON',
  value: errorBody('INVALID_JSON', M.INVALID_JSON),
};

const Health = z.object({ status: z.literal('ok') });

const Readiness = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z
    .array(
      z.object({
        name: z.string().meta({ description: 'What was checked: the store, or a source by name.' }),
        ok: z.boolean(),
        detail: z.string().optional().meta({ description: 'Why it is not ready.' }),
      }),
    )
    .optional()
    .meta({
      description: 'Only with the metrics token or on the metrics port: they name tenants and sources.',
    }),
});

/** The document's schemas, by the name it refers to them with. */
const SCHEMAS = componentSchemas({
  LookupRequest,
  Contact,
  LookupAnswer,
  CallInputs,
  WorkflowRequest,
  WorkflowAnswer,
  Error: ErrorAnswer,
  Health,
  Readiness,
});

const ref = (name: keyof typeof SCHEMAS) => ({ $ref: `#/components/schemas/${name}` });

/** A component name for a header: what OpenAPI allows of a header name's characters. */
const schemeName = (header: string) => header.replace(/[^\w.-]/g, '_');

/** The OpenAPI 3.1 document of the API served with these settings. */
export function buildOpenApiDocument(api: ServedApi): Json {
  const base = pathPrefix(api.basePath);
  const origin = (api.publicUrl ?? 'https://callcard.example.com').replace(/\/+$/, '');
  const paths: Record<string, Record<string, Json>> = {};
  const add = (path: string, method: string, operation: Json) => {
    paths[path] = { ...paths[path], [method]: operation };
  };

  // Header names match in any case: one scheme per name, one requirement per distinct set.
  const headers = new Map<string, string>();
  const sets = new Map<string, readonly string[]>();
  for (const set of api.headerSets) {
    for (const name of set) if (!headers.has(name.toLowerCase())) headers.set(name.toLowerCase(), name);
    sets.set(
      set
        .map((name) => name.toLowerCase())
        .sort()
        .join('\n'),
      set,
    );
  }
  const securitySchemes: Json = Object.fromEntries(
    [...headers.values()].map((name) => [
      schemeName(name),
      { type: 'apiKey', in: 'header', name, description: 'A value entered in the CUSTOMER-PORTAL.' },
    ]),
  );
  const security = [...sets.values()].map((set) =>
    Object.fromEntries(set.map((name) => [schemeName(headers.get(name.toLowerCase())!), []])),
  );

  const unauthorized = errorResponse(401, 'The token header is missing or wrong.', {
    noToken: {
      summary: 'No token header',
      value: errorBody('UNAUTHORIZED', M.UNAUTHORIZED),
    },
  });
  const tooMany = (summary: string, message: string) => ({
    description: `Too many requests; \`Retry-After\` says when to come back. Codes: ${codesWithStatus(429)}.`,
    headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer', minimum: 1 } } },
    content: json(ref('Error'), { tooMany: { summary, value: errorBody('RATE_LIMITED', message) } }),
  });
  // In front of every CONNECTOR route: the address list, the limits, then the token.
  const guarded = {
    401: unauthorized,
    ...(api.allowList && {
      403: errorResponse(403, 'The client address is not in the allow list.', {
        notAllowed: {
          summary: 'An address not listed',
          value: errorBody('ADDRESS_NOT_ALLOWED', M.ADDRESS_NOT_ALLOWED),
        },
      }),
    }),
    429: tooMany(
      'Over the limit of an address or a token, or too many wrong tokens',
      M.retryAfter(M.TOO_MANY_FROM_ADDRESS, 12),
    ),
  };
  const tooLarge = errorResponse(413, `The body is larger than ${BODY_LIMIT / 1024} KiB.`, {
    tooLarge: {
      summary: 'A body over the limit',
      value: errorBody('BODY_TOO_LARGE', M.bodyTooLarge(BODY_LIMIT)),
    },
  });

  // Lookup: the body form, and the older PhoneNumber query parameter with no body.
  const alexa: WireContact = {
    name: 'Alexa Holiday',
    company: 'White Cross Co',
    contactUri: 'https://crm.example.com/contacts/1',
    id: '1',
    crmName: 'callcard',
    crmLogo: `${origin}/logo.svg`,
    crmActions: [...api.workflows],
    customData: { email: 'alexa@example.com' },
  };
  const lookupAnswers = {
    description: 'The contacts found; `[]` when none.',
    content: json(
      ref('LookupAnswer'),
      examples({
        hit: { summary: 'A contact has the number', value: [alexa] },
        miss: { summary: 'Nobody has the number', value: [] },
        withheld: { summary: 'The number is withheld', value: [] },
      }),
    ),
  };
  const lookupRequests = {
    hit: { summary: 'A known number', value: { inputs: { phoneNumber: '41215522000' } } },
    miss: { summary: 'A number nobody has', value: { inputs: { phoneNumber: '41445556677' } } },
    withheld: { summary: 'A withheld number', value: { inputs: { phoneNumber: 'anonymous' } } },
    missingInputs: { summary: 'No `inputs`', value: { phoneNumber: '41215522000' } },
  } satisfies Record<string, { summary: string; value: unknown }>;
  const phoneNumberParameter = (required: boolean) => ({
    name: 'PhoneNumber',
    in: 'query',
    required,
    description: 'The number to look up, in the older form of the request (name in any case).',
    schema: { type: 'string' },
    examples: {
      hit: { summary: 'A known number', value: '41215522000' },
      miss: { summary: 'A number nobody has', value: '41445556677' },
    },
  });
  const lookupBadRequest = (withBody: boolean) =>
    errorResponse(
      400,
      'The request cannot be read.',
      examples({
        ...(withBody && { badJson: BAD_JSON }),
        missingInputs: refusal('Neither `inputs` nor a PhoneNumber parameter', () =>
          readLookupNumber(lookupRequests.missingInputs.value, {}),
        ),
      }),
    );
  add(`${base}/Lookup`, 'post', {
    operationId: 'lookup',
    tags: ['CONNECTOR'],
    summary: 'Who has this number',
    description:
      'Called while the phone rings; answers within the lookup deadline with what the sources found by then.',
    parameters: [phoneNumberParameter(false)],
    requestBody: {
      required: false,
      description: 'The number in `inputs.phoneNumber`; empty in the older form, which sends PhoneNumber.',
      content: {
        'application/json': { schema: ref('LookupRequest'), examples: lookupRequests },
        ...RAW_BODY,
      },
    },
    responses: { 200: lookupAnswers, 400: lookupBadRequest(true), ...guarded, 413: tooLarge },
  });
  add(`${base}/Lookup`, 'get', {
    operationId: 'lookupByQuery',
    tags: ['CONNECTOR'],
    summary: 'Who has this number (older form)',
    parameters: [phoneNumberParameter(true)],
    responses: { 200: lookupAnswers, 400: lookupBadRequest(false), ...guarded },
  });

  // Workflows: one operation per name served.
  const call: z.input<typeof CallInputs> = {
    contactCrmId: '1',
    userCrmId: 'u7',
    originatorNumber: '41215522000',
    originatorName: 'Alexa Holiday',
    destinationNumber: '41445556677',
    destinationName: 'Reception',
    direction: 'incoming',
    startedTime: '2026-11-26T10:00:00Z',
    answeredTime: '2026-11-26T10:00:07Z',
    endedTime: '2026-11-26T10:03:07Z',
    declinedTime: '',
  };
  const workflowRequests = {
    call: { summary: 'An answered incoming call', value: { inputs: call } },
    missingInputs: { summary: 'No `inputs`', value: {} },
    invalidInput: {
      summary: 'A direction and a time callcard cannot read',
      value: { inputs: { ...call, direction: 'sideways', startedTime: 'yesterday' } },
    },
  };
  const callId = 'DL9nRm1DLM61yWcRVfrxkQ';
  for (const name of api.workflows) {
    add(`${base}/${name}`, 'post', {
      operationId: `run${name}`,
      tags: ['CONNECTOR'],
      summary: `Run the ${name} workflow for a call`,
      description:
        (name.toLowerCase() === 'callflow'
          ? 'Sent after every call when set to run automatically in the CUSTOMER-PORTAL. '
          : '') +
        "Records the call in the call journal and runs the workflow's actions. The same call sent again gets the same `id` and stays one record. The answer is the record the first action created when its target confirms in time, else the call's page.",
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: ref('WorkflowRequest'), examples: workflowRequests },
          ...RAW_BODY,
        },
      },
      responses: {
        200: {
          description: 'The call is recorded.',
          content: json(
            ref('WorkflowAnswer'),
            examples({
              call: {
                summary: "The call's page",
                value: { id: callId, url: `${origin}${base}${CALL_PAGE_PATH}${callId}` },
              },
            }),
          ),
        },
        400: errorResponse(
          400,
          'The call cannot be read.',
          examples({
            badJson: BAD_JSON,
            missingInputs: refusal('No `inputs`', () => readCallInputs(workflowRequests.missingInputs.value)),
            invalidInput: refusal('Every field that cannot be read', () =>
              readCallInputs(workflowRequests.invalidInput.value),
            ),
          }),
        ),
        ...guarded,
        413: tooLarge,
      },
    });
  }

  // Pages and service endpoints need no token: they hold no data, or a record's address is its secret.
  add(`${base}${CALL_PAGE_PATH}{id}`, 'get', {
    operationId: 'callPage',
    tags: ['Pages'],
    summary: "A call record's page",
    description:
      "The `url` of a workflow's answer, opened in the user's browser (no token). Leads to the CRM's record once an action has created it.",
    security: [],
    parameters: [
      {
        name: 'id',
        in: 'path',
        required: true,
        schema: { type: 'string', pattern: '^[\\w-]{22}$' },
        examples: { unknown: { summary: 'An id no call has', value: 'AAAAAAAAAAAAAAAAAAAAAA' } },
      },
    ],
    responses: {
      200: {
        description: 'The call and where its deliveries stand.',
        content: {
          'text/html': {
            schema: { type: 'string' },
            examples: { page: { summary: 'The page', value: '<!doctype html><html>…Incoming call…</html>' } },
          },
        },
      },
      302: {
        description: 'The record an action created in the CRM.',
        headers: { Location: { schema: { type: 'string', format: 'uri' } } },
      },
      404: errorResponse(404, 'No call has this id (the same answer as where no tenant is).', {
        unknown: {
          summary: 'An id no call has',
          value: errorBody(
            'NOT_FOUND',
            M.noSuchEndpoint('GET', `${base}${CALL_PAGE_PATH}AAAAAAAAAAAAAAAAAAAAAA`),
          ),
        },
      }),
      429: tooMany('Over the limit of an address', M.retryAfter(M.TOO_MANY_FROM_ADDRESS, 12)),
    },
  });
  add('/healthz', 'get', {
    operationId: 'healthz',
    tags: ['Service'],
    summary: 'The process is alive',
    security: [],
    responses: {
      200: {
        description: 'Alive.',
        content: json(ref('Health'), { ok: { summary: 'Alive', value: { status: 'ok' } } }),
      },
    },
  });
  add('/readyz', 'get', {
    operationId: 'readyz',
    tags: ['Service'],
    summary: 'Ready for traffic',
    description:
      'The store answers and every mirrored source has had a good sync. Only the status without a ' +
      'token; the checks (which name tenants and sources) with `Authorization: Bearer <metrics.token>` ' +
      'or on the metrics port.',
    security: [],
    responses: {
      200: {
        description: 'Ready.',
        content: json(ref('Readiness'), {
          ready: { summary: 'Ready', value: { status: 'ready' } },
        }),
      },
      503: {
        description: 'Not ready; with the metrics token, the checks that failed say why.',
        content: json(ref('Readiness'), {
          syncing: {
            summary: 'A mirror has not synced yet',
            value: {
              status: 'not ready',
              checks: [
                { name: 'store', ok: true },
                { name: 'source crm', ok: false, detail: 'first sync running' },
              ],
            },
          },
        }),
      },
    },
  });
  if (api.metrics) {
    add('/metrics', 'get', {
      operationId: 'metrics',
      tags: ['Service'],
      summary: 'Prometheus metrics',
      security: api.metrics.bearer ? [{ metricsBearer: [] }] : [],
      responses: {
        200: {
          description: "Prometheus' text format.",
          content: {
            'text/plain': {
              schema: { type: 'string' },
              examples: {
                scrape: {
                  summary: 'Part of a scrape',
                  value: 'callcard_lookups_total{tenant="default",outcome="hit"} 42\n',
                },
              },
            },
          },
        },
        ...(api.metrics.bearer && {
          401: errorResponse(401, 'The bearer token is missing or wrong.', {
            noToken: {
              summary: 'No bearer token',
              value: errorBody('UNAUTHORIZED', M.METRICS_UNAUTHORIZED),
            },
          }),
        }),
      },
    });
    if (api.metrics.bearer) securitySchemes['metricsBearer'] = { type: 'http', scheme: 'bearer' };
  }

  return {
    openapi: '3.1.1',
    info: {
      title: 'callcard',
      version: api.version,
      summary: 'Phone lookup service for the peoplefone CONNECTOR',
      description:
        'The CONNECTOR API as this callcard serves it. Paths match in any case; a request body is read as JSON whatever its Content-Type. Errors are `{"error":{"code","message"}}`; input never causes a 5xx. The CONNECTOR\'s root URL is the server\'s address followed by the base path.',
    },
    ...(api.publicUrl && { servers: [{ url: origin, description: 'The configured public address.' }] }),
    tags: [
      { name: 'CONNECTOR', description: 'What the CONNECTOR calls, with the token header.' },
      { name: 'Pages', description: "Opened in the user's browser." },
      { name: 'Service', description: 'For load balancers and monitoring.' },
    ],
    security,
    paths,
    components: { schemas: structuredClone(SCHEMAS), securitySchemes },
  };
}

export interface OpenApiRoutesOptions {
  readonly tenant: Readonly<Pick<Tenant, 'basePath' | 'publicUrl' | 'auth' | 'allow'>>;
  readonly workflows: Pick<Workflows, 'names'>;
  /** Present when this app serves `/metrics`. */
  readonly metrics?: Pick<MetricsRoutesOptions, 'token'>;
  /** The tenant's token check: the document says which workflows a tenant has, and that it is there. */
  readonly guard: onRequestAsyncHookHandler;
}

/** The header sets a tenant accepts, by name: its tokens go in `auth.header`, beside any header sets. */
export function headerSetsOf(auth: Tenant['auth']): string[][] {
  // As the credentials are made at start: without tokens or header sets, a token is generated.
  const tokens =
    auth.tokens.length > 0 ||
    auth.tokenFile !== undefined ||
    auth.tokenEnv !== undefined ||
    auth.credentials.length === 0;
  return [...(tokens ? [[auth.header]] : []), ...auth.credentials.map((set) => Object.keys(set))];
}

const packageVersion = (): string =>
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;

/** `GET <base>/openapi.json`: built once, when the app starts. */
export const openApiRoutes: FastifyPluginAsync<OpenApiRoutesOptions> = async (app, options) => {
  const { tenant } = options;
  const document = JSON.stringify(
    buildOpenApiDocument({
      version: packageVersion(),
      basePath: tenant.basePath,
      ...(tenant.publicUrl !== undefined && { publicUrl: tenant.publicUrl }),
      headerSets: headerSetsOf(tenant.auth),
      workflows: options.workflows.names(),
      allowList: tenant.allow.length > 0,
      ...(options.metrics && { metrics: { bearer: options.metrics.token !== undefined } }),
    }),
  );
  // Behind the token like the API it describes: without it, the answer is the one of a path where
  // no tenant is, so the document does not tell who is served here.
  app.addHook('onRequest', options.guard);
  app.get('/openapi.json', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(document),
  );
};
