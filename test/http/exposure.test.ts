import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { AUTH, build, type TestService, TOKEN, tempDir } from '../support/helper.js';
import { selfSignedCertificate } from '../support/tls.js';

const NUMBER = { inputs: { phoneNumber: '41215522000' } };

describe('exposed to the internet', () => {
  let service: TestService | undefined;
  let clock = 1_000_000;
  const now = () => clock;
  beforeEach(() => {
    clock = 1_000_000;
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  const start = async (config: ConfigInput) => {
    service = await build(config, undefined, { now });
    await service.importCsv('id,name,phone\nq1,Quinn,021 552 20 00\n');
    return service;
  };
  const lookup = (headers: Record<string, string>, remoteAddress = '203.0.113.7', url = '/Lookup') =>
    service!.app.inject({ method: 'POST', url, headers, payload: NUMBER, remoteAddress });

  describe('IP allowlist', () => {
    it('answers listed addresses and networks, 403 to others that have the token', async () => {
      await start({ allow: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.9'] });
      expect((await lookup(AUTH, '203.0.113.200')).json()).toHaveLength(1);
      expect((await lookup(AUTH, '2001:db8::1')).statusCode).toBe(200);
      expect((await lookup(AUTH, '198.51.100.9')).statusCode).toBe(200);
      expect((await lookup(AUTH, '::ffff:203.0.113.5')).statusCode).toBe(200);
      for (const address of ['198.51.100.10', '192.0.2.1', '2001:db9::1']) {
        const response = await lookup(AUTH, address);
        expect(response.statusCode, address).toBe(403);
        expect(response.json()).toEqual({
          error: { code: 'ADDRESS_NOT_ALLOWED', message: 'this address may not call this service' },
        });
      }
      // Without the token, a listed address gets 401, and so does an unlisted one: 403 would tell
      // anyone that a tenant is at this path.
      expect((await lookup({}, '203.0.113.1')).statusCode).toBe(401);
      expect((await lookup({}, '192.0.2.1')).statusCode).toBe(401);
    });

    it('takes the client address from X-Forwarded-For only from trusted proxies', async () => {
      await start({ allow: ['203.0.113.0/24'], trustProxy: '127.0.0.1' });
      const via = (forwarded: string, proxy: string) =>
        lookup({ ...AUTH, 'x-forwarded-for': forwarded }, proxy);
      expect((await via('203.0.113.9', '127.0.0.1')).statusCode).toBe(200);
      expect((await via('192.0.2.1', '127.0.0.1')).statusCode).toBe(403);
      // An untrusted client cannot claim a listed address.
      expect((await via('203.0.113.9', '192.0.2.50')).statusCode).toBe(403);
    });

    it('does not apply to call pages, which users open from their browsers', async () => {
      await start({ allow: ['203.0.113.0/24'] });
      const call = await service!.app.inject({
        method: 'POST',
        url: '/CallFlow',
        headers: AUTH,
        remoteAddress: '203.0.113.7',
        payload: {
          inputs: {
            direction: 'incoming',
            originatorNumber: '41215522000',
            destinationNumber: '41445556677',
          },
        },
      });
      const page = new URL(call.json().url).pathname;
      const opened = await service!.app.inject({ method: 'GET', url: page, remoteAddress: '192.0.2.77' });
      expect(opened.statusCode).toBe(200);
    });
  });

  describe('rate limits', () => {
    it('limits requests per client address with 429 and Retry-After, then lets it in again', async () => {
      await start({ limits: { perAddress: { max: 3, windowMs: 10_000 } } });
      for (let i = 0; i < 3; i++) expect((await lookup(AUTH)).statusCode).toBe(200);
      clock += 4_000;
      const limited = await lookup(AUTH);
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBe('6');
      expect(limited.json().error.code).toBe('RATE_LIMITED');
      // Another address has its own count.
      expect((await lookup(AUTH, '198.51.100.1')).statusCode).toBe(200);
      clock += 6_000;
      expect((await lookup(AUTH)).statusCode).toBe(200);
    });

    it('limits requests per token, whatever address they come from', async () => {
      await start({ limits: { perToken: { max: 4, windowMs: 60_000 } } });
      for (const address of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']) {
        expect((await lookup(AUTH, address)).statusCode).toBe(200);
      }
      const limited = await lookup(AUTH, '198.51.100.5');
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBe('60');
    });

    it('keeps each tenant’s limits apart', async () => {
      service = await build(
        {
          tenants: {
            a: { basePath: '/a', auth: { tokens: [TOKEN] }, limits: { perAddress: { max: 1 } } },
            b: { basePath: '/b', auth: { tokens: ['b-token-0123456789abcdef'] } },
          },
        },
        undefined,
        { now },
      );
      expect((await lookup(AUTH, '203.0.113.7', '/a/Lookup')).statusCode).toBe(200);
      expect((await lookup(AUTH, '203.0.113.7', '/a/Lookup')).statusCode).toBe(429);
      const b = { 'x-execution-token': 'b-token-0123456789abcdef' };
      expect((await lookup(b, '203.0.113.7', '/b/Lookup')).statusCode).toBe(200);
    });
  });

  describe('wrong tokens', () => {
    const settings = {
      limits: { badTokens: { max: 3, windowMs: 60_000, blockMs: 2_000, maxBlockMs: 5_000 } },
    };

    it('slow an address down: blocked after a few, for longer at each further try', async () => {
      await start(settings);
      const wrong = { 'x-execution-token': 'guess-0000000000000000' };
      for (let i = 0; i < 3; i++) expect((await lookup(wrong)).statusCode).toBe(401);
      // Blocked now, even with the right token: guessing gains nothing.
      const blocked = await lookup(AUTH);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.headers['retry-after']).toBe('2');
      expect(blocked.json().error.message).toMatch(/wrong tokens/);
      // Other addresses are not affected.
      expect((await lookup(AUTH, '198.51.100.1')).statusCode).toBe(200);
      clock += 2_000;
      expect((await lookup(wrong)).statusCode).toBe(401);
      const longer = await lookup(AUTH);
      expect(longer.statusCode).toBe(429);
      expect(longer.headers['retry-after']).toBe('4');
      clock += 4_000;
      expect((await lookup(wrong)).statusCode).toBe(401);
      expect((await lookup(AUTH)).headers['retry-after']).toBe('5'); // capped at maxBlockMs
      clock += 5_000;
      // The right token clears the address's record.
      expect((await lookup(AUTH)).statusCode).toBe(200);
      expect((await lookup(wrong)).statusCode).toBe(401);
      expect((await lookup(AUTH)).statusCode).toBe(200);
    });

    it('do not lock out the addresses of the allowlist, which are known callers', async () => {
      await start({ ...settings, allow: ['203.0.113.0/24'] });
      const wrong = { 'x-execution-token': 'guess-0000000000000000' };
      for (let i = 0; i < 6; i++) expect((await lookup(wrong)).statusCode).toBe(401);
      expect((await lookup(AUTH)).statusCode).toBe(200);
    });
  });

  describe('request timeouts', () => {
    it('closes a connection whose request does not arrive in time', async () => {
      service = await build({ http: { requestTimeoutMs: 300 } });
      const address = await service.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = new URL(address);
      const socket = connectTcp(Number(port), '127.0.0.1');
      // Headers started and never finished, as a slow client that holds connections would.
      socket.write('POST /Lookup HTTP/1.1\r\nHost: x\r\nX-Execution-Token: ');
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
      });
      await new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => {
          socket.destroy();
          reject(new Error('connection still open after 10 s'));
        }, 10_000);
        socket.on('close', () => {
          clearTimeout(guard);
          resolve();
        });
      });
      expect(received).toMatch(/^HTTP\/1\.1 408/);
    });
  });

  describe('secrets', () => {
    it('never writes a configured secret to the log, however it gets there', async () => {
      const dir = tempDir();
      try {
        writeFileSync(join(dir.path, 'tokens'), 'file-token-9876543210fedcba\n');
        writeFileSync(join(dir.path, 'db-password'), 'db-file-password-42\n');
        process.env['CALLCARD_TEST_KEY'] = 'env-api-key-1a2b3c4d';
        const lines: string[] = [];
        service = await build(
          {
            auth: { tokens: [TOKEN], tokenFile: join(dir.path, 'tokens') },
            metrics: { token: 'metrics-token-abcdefabcdef' },
            sources: [
              { type: 'embedded' },
              {
                type: 'sql',
                name: 'crm',
                driver: 'postgres',
                url: 'postgres://crm:url-password-77@127.0.0.1:1/crm',
                table: { name: 'contacts', id: 'id', fullName: 'name', phones: ['phone'] },
                timeoutMs: 500,
              },
              {
                type: 'rest',
                name: 'api',
                mode: 'live',
                baseUrl: 'http://127.0.0.1:1',
                auth: { type: 'apiKey', keyEnv: 'CALLCARD_TEST_KEY' },
                search: { request: { url: '/search?q={e164}' }, items: 'results' },
                timeoutMs: 500,
              },
              {
                type: 'sql',
                name: 'erp',
                driver: 'mysql',
                url: 'mysql://erp@127.0.0.1:1/erp',
                passwordFile: join(dir.path, 'db-password'),
                table: { name: 'contacts', id: 'id', fullName: 'name', phones: ['phone'] },
                timeoutMs: 500,
              },
            ],
          },
          lines,
        );
        const secrets = [
          TOKEN,
          'file-token-9876543210fedcba',
          'db-file-password-42',
          'env-api-key-1a2b3c4d',
          'metrics-token-abcdefabcdef',
          'url-password-77',
        ];
        // Requests carrying secrets in every place a client could put them.
        await service.app.inject({ method: 'POST', url: '/Lookup', headers: AUTH, payload: NUMBER });
        await service.app.inject({
          method: 'POST',
          url: `/Lookup?PhoneNumber=41215522000&token=${TOKEN}`,
          headers: { 'x-execution-token': 'file-token-9876543210fedcba' },
        });
        await service.app.inject({
          method: 'POST',
          url: '/Lookup',
          headers: { 'x-execution-token': `${TOKEN}-wrong` },
          payload: NUMBER,
        });
        // A message that would carry them, as a driver's error text might.
        service.logger.error({ detail: secrets.join(' ') }, `failed with ${secrets.join(', ')}`);
        const log = lines.join('');
        expect(log).toContain('[redacted]');
        expect(log).toMatch(/"status":200/);
        for (const secret of secrets) expect(log, secret).not.toContain(secret);
      } finally {
        delete process.env['CALLCARD_TEST_KEY'];
        dir.remove();
      }
    });
  });

  describe('HTTPS', () => {
    function makeCertificate(dir: string, name: string) {
      const { cert, key } = selfSignedCertificate(dir, name);
      return { cert, key };
    }

    /** The certificate the server shows to a new connection, and the answer to one lookup on it. */
    async function handshake(port: number) {
      return new Promise<{ subject: string; status: string }>((resolve, reject) => {
        const socket = connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
          const subject = new X509Certificate(socket.getPeerX509Certificate()!.raw).subject;
          const body = JSON.stringify(NUMBER);
          socket.write(
            `POST /Lookup HTTP/1.1\r\nHost: x\r\nX-Execution-Token: ${TOKEN}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
          );
          let text = '';
          socket.on('data', (chunk) => {
            text += chunk.toString();
          });
          socket.on('end', () => resolve({ subject, status: text.split('\r\n')[0] ?? '' }));
        });
        socket.on('error', reject);
      });
    }

    it('serves HTTPS and takes a new certificate without a restart', async () => {
      const dir = tempDir();
      try {
        const first = makeCertificate(dir.path, 'first');
        const second = makeCertificate(dir.path, 'second');
        writeFileSync(join(dir.path, 'tls.crt'), first.cert);
        writeFileSync(join(dir.path, 'tls.key'), first.key);
        service = await build({ tls: { cert: join(dir.path, 'tls.crt'), key: join(dir.path, 'tls.key') } });
        await service.importCsv('id,name,phone\nq1,Quinn,021 552 20 00\n');
        const address = await service.app.listen({ port: 0, host: '127.0.0.1' });
        expect(address).toMatch(/^https:/);
        const port = Number(new URL(address).port);
        expect(await handshake(port)).toEqual({ subject: 'CN=first', status: 'HTTP/1.1 200 OK' });
        // Renewed certificate written in place, as certbot or an ACME client would.
        writeFileSync(join(dir.path, 'tls.crt'), second.cert);
        writeFileSync(join(dir.path, 'tls.key'), second.key);
        service.reload();
        expect(await handshake(port)).toEqual({ subject: 'CN=second', status: 'HTTP/1.1 200 OK' });
        // A broken file keeps the certificate in use.
        writeFileSync(join(dir.path, 'tls.key'), 'not a key');
        service.reload();
        expect(await handshake(port)).toEqual({ subject: 'CN=second', status: 'HTTP/1.1 200 OK' });
      } finally {
        dir.remove();
      }
    });
  });

  describe('token rotation', () => {
    it('reads the token file again when it changes, without a restart', async () => {
      const dir = tempDir();
      try {
        const file = join(dir.path, 'tokens');
        writeFileSync(file, 'old-token-aaaaaaaaaaaaaaaa\n');
        service = await build({ auth: { tokenFile: file } });
        const as = (token: string) => lookup({ 'x-execution-token': token });
        expect((await as('old-token-aaaaaaaaaaaaaaaa')).statusCode).toBe(200);
        // Step 1: both tokens while peoplefone's settings are changed.
        writeFileSync(file, 'old-token-aaaaaaaaaaaaaaaa\nnew-token-bbbbbbbbbbbbbbbb\n');
        service.reload();
        expect((await as('old-token-aaaaaaaaaaaaaaaa')).statusCode).toBe(200);
        expect((await as('new-token-bbbbbbbbbbbbbbbb')).statusCode).toBe(200);
        // Step 2: the old one removed; picked up by the file watch alone.
        writeFileSync(file, 'new-token-bbbbbbbbbbbbbbbb\n');
        await expect
          .poll(async () => (await as('old-token-aaaaaaaaaaaaaaaa')).statusCode, {
            timeout: 20_000,
            interval: 500,
          })
          .toBe(401);
        expect((await as('new-token-bbbbbbbbbbbbbbbb')).statusCode).toBe(200);
        // An emptied file is a mistake, not a lock-out: the last good tokens stay.
        writeFileSync(file, '\n');
        service.reload();
        expect((await as('new-token-bbbbbbbbbbbbbbbb')).statusCode).toBe(200);
      } finally {
        dir.remove();
      }
    }, 60_000);
  });

  describe('probing for tenants', () => {
    const ACME = 'acme-token-aaaaaaaaaaaaaaaa';
    const GLOBEX = 'globex-token-bbbbbbbbbbbbbb';
    const startTwo = async (acme: ConfigInput = {}) => {
      service = await build(
        {
          tenants: {
            acme: { basePath: '/acme', auth: { tokens: [ACME] }, ...acme },
            globex: { basePath: '/globex', auth: { tokens: [GLOBEX] } },
          },
        },
        undefined,
        { now },
      );
      return service;
    };
    /** The same request at a tenant's base path and at one (of the same length) where no tenant is. */
    const both = async (
      method: 'GET' | 'POST' | 'HEAD',
      route: string,
      headers: Record<string, string> = {},
      remoteAddress = '192.0.2.40',
    ) => {
      const send = (base: string) =>
        service!.app.inject({
          method,
          url: `${base}${route}`,
          headers,
          remoteAddress,
          ...(method === 'POST' && { payload: NUMBER }),
        });
      const [known, unknown] = [await send('/acme'), await send('/zzzz')];
      return { known, unknown };
    };
    const expectAlike = ({ known, unknown }: Awaited<ReturnType<typeof both>>, what: string) => {
      expect(unknown.statusCode, what).toBe(known.statusCode);
      // A 404 names the path asked for; the rest is the same, byte for byte.
      expect(unknown.body.replaceAll('/zzzz', '/acme'), what).toBe(known.body);
      const headers = (response: typeof known) => {
        const { date: _, ...rest } = response.headers;
        return rest;
      };
      expect(headers(unknown), what).toEqual(headers(known));
    };

    it('answers a base path where no tenant is as a tenant’s without its token', async () => {
      await startTwo();
      const cases: [method: 'GET' | 'POST' | 'HEAD', route: string, headers?: Record<string, string>][] = [
        ['POST', '/Lookup'],
        ['POST', '/lookup/'],
        ['POST', '/Lookup', { 'x-execution-token': 'wrong-token-cccccccccccccc' }],
        ['GET', '/Lookup'],
        ['POST', '/CallFlow'],
        ['POST', '/NoSuchWorkflow'],
        ['GET', '/openapi.json'],
        ['HEAD', '/openapi.json'],
        ['GET', '/calls/AAAAAAAAAAAAAAAAAAAAAA'],
        ['GET', '/nothing'],
        // Another tenant's token: 404 at both, as where no tenant is.
        ['POST', '/Lookup', { 'x-execution-token': GLOBEX }],
        ['GET', '/openapi.json', { 'x-execution-token': GLOBEX }],
      ];
      for (const [method, route, headers] of cases) {
        const answers = await both(method, route, headers);
        expectAlike(answers, `${method} ${route} ${JSON.stringify(headers ?? {})}`);
      }
      expect((await both('POST', '/Lookup')).known.statusCode).toBe(401);
      expect((await both('POST', '/Lookup', { 'x-execution-token': GLOBEX })).known.statusCode).toBe(404);
      // With its token, the tenant answers, its OpenAPI document included.
      const own = { 'x-execution-token': ACME };
      expect((await both('POST', '/Lookup', own)).known.statusCode).toBe(200);
      const document = await both('GET', '/openapi.json', own);
      expect(document.known.statusCode).toBe(200);
      expect(document.known.json().paths).toHaveProperty(['/acme/Lookup']);
      expect(document.unknown.statusCode).toBe(404);
    });

    it('locks out wrong tokens at a base path where no tenant is as at a tenant’s', async () => {
      await startTwo();
      const wrong = { 'x-execution-token': 'wrong-token-cccccccccccccc' };
      const statuses = async (base: string, address: string) => {
        const seen: number[] = [];
        for (let i = 0; i < 12; i++) seen.push((await lookup(wrong, address, `${base}/Lookup`)).statusCode);
        return seen;
      };
      const known = await statuses('/acme', '192.0.2.41');
      expect(known).toContain(429);
      expect(await statuses('/zzzz', '192.0.2.42')).toEqual(known);
    });

    it('tells an address outside the allowlist so only when it has the token', async () => {
      await startTwo({ allow: ['203.0.113.0/24'] });
      expectAlike(await both('POST', '/Lookup', {}, '192.0.2.43'), 'no token, unlisted address');
      expect((await both('POST', '/Lookup', {}, '192.0.2.43')).known.statusCode).toBe(401);
      const listedOnly = await both('POST', '/Lookup', { 'x-execution-token': ACME }, '192.0.2.43');
      expect(listedOnly.known.statusCode).toBe(403);
      expect(listedOnly.known.json().error.code).toBe('ADDRESS_NOT_ALLOWED');
    });

    it('says only ready or not on /readyz, without naming tenants or sources', async () => {
      await startTwo();
      const response = await service!.app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ready' });
      expect(response.body).not.toMatch(/acme|globex|store/);
    });
  });
});
