import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, build, type TestService, TOKEN } from '../support/helper.js';

// The parts of an OpenAPI document the tests read.
interface Example {
  summary?: string;
  value: unknown;
}
interface Media {
  schema: object;
  examples?: Record<string, Example>;
}
interface Answer {
  description: string;
  content?: Record<string, Media>;
}
interface Parameter {
  name: string;
  in: string;
  examples?: Record<string, Example>;
}
interface Op {
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, Answer>;
}
type Method = (typeof METHODS)[number];
interface Doc {
  openapi: string;
  info: { version: string };
  servers?: { url: string }[];
  security: unknown[];
  paths: Record<string, Partial<Record<Method, Op>>>;
  components: { securitySchemes: Record<string, unknown> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const BASE = '/services/phone';
const PUBLIC_URL = 'https://lookup.example.ch';
const CSV = `id,name,company,contact_uri,phone,email
1,Alexa Holiday,White Cross Co,https://crm.example.com/contacts/1,021 552 20 00,alexa@example.com
`;

const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
ajv.addFormat('uri', (value: string) => URL.canParse(value));

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The document with every local `$ref` replaced by what it points at. */
function deref(node: unknown, root: unknown): unknown {
  if (Array.isArray(node)) return node.map((item) => deref(item, root));
  if (!isObject(node)) return node;
  const { $ref } = node;
  if (typeof $ref === 'string' && $ref.startsWith('#/')) {
    const target = $ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (at, part) => (isObject(at) ? at[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined),
        root,
      );
    return deref(target, root);
  }
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, deref(value, root)]));
}

function check(schema: object, value: unknown, what: string): void {
  const validate = ajv.compile(schema);
  expect(validate(value), `${what}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

interface Operation {
  path: string;
  method: Method;
  op: Op;
}

function operations(doc: Doc): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const op = item[method];
      return op ? [{ path, method, op }] : [];
    }),
  );
}

const examplesOf = (media: Media | undefined) => Object.entries(media?.examples ?? {});

interface ExampleRequest {
  /** The example's name: the answer's example of the same name says what comes back. */
  name: string | undefined;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/** One request per example of the operation: body, query parameter or path parameter. */
function exampleRequests({ path, op }: Operation): ExampleRequest[] {
  const params = op.parameters ?? [];
  const fill = (values: Record<string, string>) =>
    path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(values[name] ?? ''));
  const firstValues = Object.fromEntries(
    params
      .filter((param) => param.in === 'path')
      .map((param) => [param.name, String(Object.values(param.examples ?? {})[0]?.value)]),
  );
  // Operations open to all say so with an empty requirement; the others need the token.
  const headers: Record<string, string> = op.security?.length === 0 ? {} : { ...AUTH };
  const requests: ExampleRequest[] = [];
  for (const [media, content] of Object.entries(op.requestBody?.content ?? {})) {
    for (const [name, { value }] of examplesOf(content)) {
      requests.push({
        name,
        url: fill(firstValues),
        headers: { ...headers, 'content-type': media },
        payload: media === 'application/json' ? JSON.stringify(value) : String(value),
      });
    }
  }
  for (const param of params) {
    for (const [name, example] of Object.entries(param.examples ?? {})) {
      const value = String(example.value);
      const url =
        param.in === 'query'
          ? `${fill(firstValues)}?${param.name}=${encodeURIComponent(value)}`
          : fill({ ...firstValues, [param.name]: value });
      requests.push({ name, url, headers });
    }
  }
  if (requests.length === 0) requests.push({ name: undefined, url: fill(firstValues), headers });
  return requests;
}

/** The status whose answer has an example of this name, and that example. */
function answerOfExample(op: Op, name: string): { status: string; value: unknown } | undefined {
  for (const [status, answer] of Object.entries(op.responses)) {
    for (const content of Object.values(answer.content ?? {})) {
      const example = content.examples?.[name];
      if (example) return { status, value: example.value };
    }
  }
  return undefined;
}

/** Checks a real answer against the answer documented for its status. */
function checkAnswer(
  op: Op,
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  what: string,
) {
  const documented = op.responses[String(response.statusCode)];
  expect(documented, `${what}: status ${response.statusCode} is documented (${response.body})`).toBeDefined();
  const content = documented?.content;
  if (!content) return;
  const type = String(response.headers['content-type'] ?? '');
  const media = Object.keys(content).find((key) => type.startsWith(key));
  expect(media, `${what}: content type ${type} is documented`).toBeDefined();
  if (media === 'application/json') check(content[media]!.schema, JSON.parse(response.body), what);
}

function webhookTarget() {
  const server: Server = createServer(async (request, response) => {
    for await (const _chunk of request);
    response.writeHead(201, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ record: { id: 'T-1', url: 'https://crm.example.com/tickets/T-1' } }));
  });
  return {
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('GET <base>/openapi.json', () => {
  const target = webhookTarget();
  let service: TestService;
  /** As served, with its references. */
  let served: Doc;
  /** The same, references resolved. */
  let doc: Doc;
  const operation = (path: string, method: Method) => doc.paths[path]?.[method] as Op;

  beforeAll(async () => {
    const url = await target.start();
    service = await build(
      {
        basePath: `${BASE}/`,
        publicUrl: PUBLIC_URL,
        workflows: {
          Ticket: { actions: [{ type: 'webhook', url, response: { id: 'record.id', url: 'record.url' } }] },
        },
        delivery: { answerBudgetMs: 5000 },
      },
      undefined,
      { startDelivery: true },
    );
    await service.importCsv(CSV);
    const response = await service.app.inject({ method: 'GET', url: `${BASE}/openapi.json`, headers: AUTH });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    served = response.json();
    doc = deref(served, served) as Doc;
  });
  afterAll(async () => {
    await service?.close();
    await target.close();
  });

  it('is a valid OpenAPI 3.1 document, served with the token only', async () => {
    const denied = await service.app.inject({ method: 'GET', url: `${BASE}/openapi.json` });
    expect(denied.statusCode).toBe(401);
    expect(denied.body).not.toContain('openapi');
    const result = await new Validator().validate(served as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(served.openapi).toMatch(/^3\.1\./);
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(served.info.version).toBe(version);
  });

  it('describes this deployment: base path, workflows, token header, public URL', () => {
    const paths = Object.keys(served.paths);
    expect(paths).toEqual(
      expect.arrayContaining([`${BASE}/Lookup`, `${BASE}/CallFlow`, `${BASE}/Ticket`, `${BASE}/calls/{id}`]),
    );
    expect(paths.filter((path) => !path.startsWith(`${BASE}/`))).toEqual(['/healthz', '/readyz', '/metrics']);
    expect(Object.keys(served.paths[`${BASE}/Lookup`] ?? {})).toEqual(['post', 'get']);
    expect(served.servers).toEqual([{ url: PUBLIC_URL, description: expect.any(String) }]);
    expect(served.components.securitySchemes).toEqual({
      'X-Execution-Token': expect.objectContaining({
        type: 'apiKey',
        in: 'header',
        name: 'X-Execution-Token',
      }),
    });
    expect(served.security).toEqual([{ 'X-Execution-Token': [] }]);
    // The token header is named, never a token.
    expect(JSON.stringify(served)).not.toContain(TOKEN);
  });

  it('has an example for every request and every answer, each valid against its schema', () => {
    for (const operation of operations(doc)) {
      const { op } = operation;
      const what = `${operation.method.toUpperCase()} ${operation.path}`;
      for (const [status, answer] of Object.entries(op.responses)) {
        for (const [media, content] of Object.entries(answer.content ?? {})) {
          const examples = examplesOf(content);
          expect(examples.length, `${what} ${status} ${media} has examples`).toBeGreaterThan(0);
          for (const [name, { value }] of examples) check(content.schema, value, `${what} ${status} ${name}`);
        }
      }
      for (const { name } of exampleRequests(operation)) {
        if (name !== undefined) expect(answerOfExample(op, name), `${what}: answer to ${name}`).toBeDefined();
      }
      // Requests that succeed are valid requests; the others show what is refused.
      for (const [media, content] of Object.entries(op.requestBody?.content ?? {})) {
        for (const [name, { value }] of examplesOf(content)) {
          if (answerOfExample(op, name)?.status.startsWith('2'))
            check(content.schema, value, `${what} ${media} ${name}`);
        }
      }
    }
  });

  it('answers each example request as documented', async () => {
    let sent = 0;
    for (const operation of operations(doc)) {
      for (const request of exampleRequests(operation)) {
        const what = `${operation.method.toUpperCase()} ${request.url} ${request.name ?? ''}`;
        const response = await service.app.inject({
          method: operation.method.toUpperCase() as 'GET' | 'POST',
          url: request.url,
          headers: request.headers,
          ...(request.payload !== undefined && { payload: request.payload }),
        });
        sent += 1;
        checkAnswer(operation.op, response, what);
        const expected = request.name === undefined ? undefined : answerOfExample(operation.op, request.name);
        if (!expected) continue;
        expect(String(response.statusCode), what).toBe(expected.status);
        // Refusals and the hit are exactly as shown; other answers carry ids made at run time.
        if (response.statusCode >= 400 || request.name === 'hit')
          expect(response.json(), what).toEqual(expected.value);
      }
    }
    expect(sent).toBeGreaterThan(15);
  });

  it("answers a workflow with the target's record, and the call's page as documented", async () => {
    const call = operation(`${BASE}/CallFlow`, 'post').requestBody?.content['application/json']?.examples?.[
      'call'
    ];
    const payload = call?.value as object;
    const ticket = await service.app.inject({
      method: 'POST',
      url: `${BASE}/Ticket`,
      headers: AUTH,
      payload,
    });
    expect(ticket.json()).toEqual({ id: 'T-1', url: 'https://crm.example.com/tickets/T-1' });

    const flow = await service.app.inject({
      method: 'POST',
      url: `${BASE}/CallFlow`,
      headers: AUTH,
      payload,
    });
    const { url } = flow.json();
    expect(url.startsWith(`${PUBLIC_URL}${BASE}/calls/`)).toBe(true);
    const page = await service.app.inject({ method: 'GET', url: new URL(url).pathname });
    expect(page.statusCode).toBe(200);
    checkAnswer(operation(`${BASE}/calls/{id}`, 'get'), page, 'call page');
  });

  it('answers without the token, and to a body over the limit, as documented', async () => {
    for (const { path, method, op } of operations(doc)) {
      if (op.security?.length === 0) continue;
      const what = `${method.toUpperCase()} ${path}`;
      const [request] = exampleRequests({ path, method, op });
      const { 'x-execution-token': _, ...headers } = request!.headers;
      const denied = await service.app.inject({
        method: method.toUpperCase() as 'GET' | 'POST',
        url: request!.url,
        headers,
        ...(request!.payload !== undefined && { payload: request!.payload }),
      });
      expect(denied.statusCode, what).toBe(401);
      checkAnswer(op, denied, `${what} without token`);
      expect(denied.json()).toEqual(
        op.responses['401']?.content?.['application/json']?.examples?.['noToken']?.value,
      );

      if (!op.responses['413']) continue;
      const large = await service.app.inject({
        method: 'POST',
        url: path,
        headers: { ...AUTH, 'content-type': 'application/json' },
        payload: JSON.stringify({ inputs: { pad: 'x'.repeat(70_000) } }),
      });
      expect(large.statusCode, what).toBe(413);
      checkAnswer(op, large, `${what} too large`);
    }
  });
});

describe('openapi.json with the default settings', () => {
  it('puts the API at the root, with the configured header and no servers or metrics', async () => {
    const service = await build({
      auth: { header: 'X-Api-Key', tokens: [TOKEN] },
      metrics: { enabled: false },
    });
    try {
      const response = await service.app.inject({
        method: 'GET',
        url: '/openapi.json',
        headers: { 'x-api-key': TOKEN },
      });
      expect(response.statusCode).toBe(200);
      const doc: Doc = response.json();
      expect((await new Validator().validate(response.json())).valid).toBe(true);
      expect(Object.keys(doc.paths).sort()).toEqual([
        '/CallFlow',
        '/Lookup',
        '/calls/{id}',
        '/healthz',
        '/readyz',
      ]);
      expect(doc.servers).toBeUndefined();
      expect(doc.components.securitySchemes).toEqual({
        'X-Api-Key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }),
      });
      const lookup = await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: { 'x-api-key': TOKEN },
        payload: { inputs: { phoneNumber: '41215522000' } },
      });
      expect(lookup.statusCode).toBe(200);
    } finally {
      await service.close();
    }
  });
});

describe('openapi.json with several tenants', () => {
  it("describes each tenant's own API under its base path", async () => {
    const service = await build({
      tenants: {
        acme: { basePath: '/acme', auth: { tokens: [TOKEN] }, workflows: { Ticket: {} } },
        beta: { basePath: '/beta', auth: { header: 'X-Beta-Key', tokens: [`${TOKEN}-beta`] } },
      },
    });
    try {
      const get = (url: string, headers: Record<string, string>) =>
        service.app.inject({ method: 'GET', url, headers });
      const acme: Doc = (await get('/acme/openapi.json', AUTH)).json();
      const beta: Doc = (await get('/beta/openapi.json', { 'x-beta-key': `${TOKEN}-beta` })).json();
      // Each tenant's document with its own token only.
      expect((await get('/beta/openapi.json', AUTH)).statusCode).toBe(404);
      expect(Object.keys(acme.paths).filter((path) => path !== '/healthz' && path !== '/readyz')).toEqual([
        '/acme/Lookup',
        '/acme/CallFlow',
        '/acme/Ticket',
        '/acme/calls/{id}',
        '/metrics',
      ]);
      expect(Object.keys(beta.paths)).toContain('/beta/Lookup');
      expect(Object.keys(beta.paths)).not.toContain('/beta/Ticket');
      expect(Object.keys(beta.components.securitySchemes)).toEqual(['X-Beta-Key']);
      expect((await new Validator().validate({ ...beta })).valid).toBe(true);
    } finally {
      await service.close();
    }
  });
});
