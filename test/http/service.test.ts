import { afterEach, describe, expect, it } from 'vitest';
import { AUTH, build, type TestService, TOKEN } from '../support/helper.js';

describe('authentication', () => {
  let service: TestService | undefined;
  afterEach(() => service?.close());

  const lookup = (headers: Record<string, string>, url = '/Lookup') =>
    service!.app.inject({
      method: 'POST',
      url,
      headers,
      payload: { inputs: { phoneNumber: '41215522000' } },
    });

  it('401 with a JSON error for a missing or wrong token, on every CONNECTOR endpoint', async () => {
    service = await build();
    await service.importCsv('id,name,phone\nq1,Quinn,021 552 20 00\n');
    for (const headers of [
      {},
      { 'x-execution-token': 'wrong' },
      { 'x-execution-token': `${TOKEN}x` },
    ] as Record<string, string>[]) {
      for (const url of ['/Lookup', '/CallFlow', '/NoSuchWorkflow']) {
        const response = await lookup(headers, url);
        expect(response.statusCode).toBe(401);
        expect(response.json()).toEqual({
          error: { code: 'UNAUTHORIZED', message: 'missing or wrong token header' },
        });
      }
    }
    expect((await lookup(AUTH)).json()).toHaveLength(1);
  });

  it('accepts each of several tokens (rotation) under a configured header name', async () => {
    service = await build({
      auth: { header: 'X-Api-Key', tokens: ['old-token-aaaaaaaaaaaa', 'new-token-bbbbbbbbbbbb'] },
    });
    expect((await lookup({ 'x-api-key': 'old-token-aaaaaaaaaaaa' })).statusCode).toBe(200);
    expect((await lookup({ 'X-Api-Key': 'new-token-bbbbbbbbbbbb' })).statusCode).toBe(200);
    expect((await lookup({ 'x-execution-token': 'new-token-bbbbbbbbbbbb' })).statusCode).toBe(401);
  });

  it('requires every header of a configured header set', async () => {
    service = await build({ auth: { credentials: [{ 'X-Execution-Token': 'abc', 'X-Tenant': 'acme' }] } });
    expect((await lookup({ 'x-execution-token': 'abc', 'x-tenant': 'acme' })).statusCode).toBe(200);
    expect((await lookup({ 'x-execution-token': 'abc' })).statusCode).toBe(401);
    expect((await lookup({ 'x-execution-token': 'abc', 'x-tenant': 'other' })).statusCode).toBe(401);
  });

  it('generates a token on first start, keeps it in the data directory and reuses it', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const { createService } = await import('../../src/main.js');
    const { tempDir } = await import('../support/helper.js');
    const { readFileSync, statSync } = await import('node:fs');
    const pino = (await import('pino')).default;
    const dir = tempDir();
    try {
      const config = loadConfig({ env: {}, overrides: { dataDir: dir.path } });
      const first = await createService(config, { logger: pino({ level: 'silent' }) });
      const { generatedToken } = first.tenants[0]!;
      expect(generatedToken?.value).toMatch(/^[\w-]{32}$/);
      const file = generatedToken!.file!;
      expect(generatedToken!.keptIn).toBe(file);
      expect(readFileSync(file, 'utf8').trim()).toBe(generatedToken!.value);
      expect(statSync(file).mode & 0o077).toBe(0);
      const ok = await first.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: { 'x-execution-token': generatedToken!.value },
        payload: { inputs: { phoneNumber: '41215522000' } },
      });
      expect(ok.statusCode).toBe(200);
      await first.close();
      const second = await createService(config, { logger: pino({ level: 'silent' }) });
      expect(second.tenants[0]!.generatedToken).toBeUndefined();
      expect(second.tenants[0]!.tokenFile).toBe(file);
      await second.close();
    } finally {
      dir.remove();
    }
  });
});

describe('service endpoints', () => {
  let service: TestService | undefined;
  afterEach(() => service?.close());

  it('GET /healthz needs no token', async () => {
    service = await build();
    const response = await service.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('GET / describes the service and shows no data', async () => {
    service = await build({ basePath: '/svc' });
    await service.importCsv('id,name,phone\nq1,Quinn Secret,021 552 20 00\n');
    const response = await service.app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.json().lookup).toContain('/svc/Lookup');
    expect(response.body).not.toContain('Quinn');
  });

  it('serves the logo that embedded contacts point to', async () => {
    service = await build();
    const response = await service.app.inject({ method: 'GET', url: '/logo.svg' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/image\/svg\+xml/);
  });

  it('404 JSON for unknown paths', async () => {
    service = await build();
    const response = await service.app.inject({ method: 'GET', url: '/nothing/here' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('NOT_FOUND');
  });
});

describe('request log', () => {
  it('writes one line per request with outcome and duration, the number masked, no token', async () => {
    const lines: string[] = [];
    const service = await build({}, lines);
    try {
      await service.importCsv('id,name,phone\nq1,Quinn,021 552 20 00\n');
      await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: AUTH,
        payload: { inputs: { phoneNumber: '41215522000' } },
      });
      await service.app.inject({ method: 'GET', url: '/Lookup?PhoneNumber=41215522000', headers: AUTH });
      await service.app.inject({ method: 'POST', url: '/Lookup', headers: AUTH, payload: '{oops' });
      const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request');
      expect(requests).toHaveLength(3);
      expect(requests[0]).toMatchObject({ method: 'POST', path: '/Lookup', status: 200, results: 1 });
      expect(requests[0].number).toBe('+41 21 *** ** 00');
      expect(typeof requests[0].ms).toBe('number');
      expect(requests[1].path).toBe('/Lookup');
      expect(requests[2].status).toBe(400);
      const all = lines.join('\n');
      expect(all).not.toContain('5522000');
      expect(all).not.toContain('552 20 00');
      expect(all).not.toContain(TOKEN);
    } finally {
      await service.close();
    }
  });

  it("carries the request's id on its line and on what is logged while it is served", async () => {
    const lines: string[] = [];
    const service = await build({}, lines);
    try {
      for (const phoneNumber of ['41215522000', '41215522001'])
        await service.app.inject({
          method: 'POST',
          url: '/Lookup',
          headers: AUTH,
          payload: { inputs: { phoneNumber } },
        });
      // The store gone: the call is not recorded, which the request's logger says.
      await service.store.close();
      const refused = await service.app.inject({
        method: 'POST',
        url: '/CallFlow',
        headers: AUTH,
        payload: { inputs: { contactCrmId: 'c1', originatorNumber: '41215522000', direction: 'incoming' } },
      });
      expect(refused.statusCode).toBe(503);
      const entries = lines.map((line) => JSON.parse(line));
      const requests = entries.filter((entry) => entry.msg === 'request');
      expect(requests).toHaveLength(3);
      const ids = requests.map((entry) => entry.reqId);
      expect(new Set(ids).size).toBe(3);
      for (const id of ids) expect(id).toMatch(/^req-/);
      // The id comes right after the service's own fields, as a child logger's binding.
      const first = lines.find((line) => line.includes('"msg":"request"'))!;
      expect(Object.keys(JSON.parse(first)).slice(0, 5)).toEqual([
        'level',
        'time',
        'service',
        'reqId',
        'method',
      ]);
      const warning = entries.find((entry) => entry.msg === 'call not recorded: the store does not answer');
      expect(warning).toMatchObject({ level: 40, reqId: ids[2] });
      expect(Object.keys(warning).slice(0, 4)).toEqual(['level', 'time', 'service', 'reqId']);
    } finally {
      await service.close();
    }
  });
});
