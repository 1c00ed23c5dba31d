import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { AUTH, build, docExample, type TestService } from '../support/helper.js';
import { describeWithServer } from '../support/sql.js';

// Rate limits and wrong-token lock-outs shared by several instances through the Redis server on
// the machine (127.0.0.1:6379): each test uses keys of its own prefix, removed after it.

const REDIS_URL = process.env['CALLCARD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const NUMBER = { inputs: { phoneNumber: '41215522000' } };
const WRONG = { 'x-execution-token': 'guess-0000000000000000' };

async function redisUnavailable(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `no Redis at ${REDIS_URL} (${(error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

describeWithServer('limits shared through Redis', await redisUnavailable(), () => {
  let admin: Redis;
  let prefix = '';
  let clock = 0;
  const now = () => clock;
  const instances: TestService[] = [];

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(() => admin.disconnect());
  beforeEach(() => {
    prefix = `callcard-test:${randomUUID()}:`;
    // A window boundary: windows in Redis start at multiples of their length.
    clock = 1_000_000_000;
  });
  afterEach(async () => {
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
  });

  /** Another instance of the same deployment: own data directory, the same Redis. */
  const instance = async (config: ConfigInput = {}, logLines?: string[]) => {
    // A generous timeout: on a busy machine a slow answer would be counted in the instance instead.
    const limits = { ...config.limits, redis: { url: REDIS_URL, prefix, timeoutMs: 5000 } };
    const service = await build({ ...config, limits }, logLines, { now });
    instances.push(service);
    return service;
  };
  const lookup = (on: TestService, headers: Record<string, string>, remoteAddress = '203.0.113.7') =>
    on.app.inject({ method: 'POST', url: '/Lookup', headers, payload: NUMBER, remoteAddress });

  it('counts the requests of one address on every instance', async () => {
    const a = await instance({ limits: { perAddress: { max: 4, windowMs: 10_000 } } });
    const b = await instance({ limits: { perAddress: { max: 4, windowMs: 10_000 } } });
    for (const on of [a, b, a, b]) expect((await lookup(on, AUTH)).statusCode).toBe(200);
    // Each instance has seen two requests, under its limit of four: the fifth is refused anyway.
    for (const on of [a, b]) {
      const refused = await lookup(on, AUTH);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('10');
      expect(refused.json().error.code).toBe('RATE_LIMITED');
    }
    // Another address has its own count.
    expect((await lookup(b, AUTH, '198.51.100.1')).statusCode).toBe(200);
    // The next window lets the address in again, on both.
    clock += 10_000;
    expect((await lookup(a, AUTH)).statusCode).toBe(200);
    expect((await lookup(b, AUTH)).statusCode).toBe(200);
    expect(await admin.keys(`${prefix}*`)).not.toHaveLength(0);
  });

  it('counts the requests of one token on every instance, from any address', async () => {
    const settings = { limits: { perToken: { max: 3, windowMs: 60_000 } } };
    const a = await instance(settings);
    const b = await instance(settings);
    expect((await lookup(a, AUTH, '203.0.113.1')).statusCode).toBe(200);
    expect((await lookup(b, AUTH, '203.0.113.2')).statusCode).toBe(200);
    expect((await lookup(a, AUTH, '203.0.113.3')).statusCode).toBe(200);
    const refused = await lookup(b, AUTH, '203.0.113.4');
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toMatch(/this token/);
  });

  it('locks out an address that guessed tokens on one instance, on the others too', async () => {
    const settings = {
      limits: { badTokens: { max: 3, windowMs: 60_000, blockMs: 2_000, maxBlockMs: 5_000 } },
    };
    const a = await instance(settings);
    const b = await instance(settings);
    const c = await instance(settings);
    expect((await lookup(a, WRONG)).statusCode).toBe(401);
    expect((await lookup(b, WRONG)).statusCode).toBe(401);
    expect((await lookup(a, WRONG)).statusCode).toBe(401);
    const blocked = await lookup(c, AUTH);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBe('2');
    expect(blocked.json().error.message).toMatch(/wrong tokens/);
    // A further wrong token doubles the block, wherever it comes.
    clock += 2_000;
    expect((await lookup(b, WRONG)).statusCode).toBe(401);
    expect((await lookup(a, AUTH)).headers['retry-after']).toBe('4');
    // The right token, once the block is over, clears the record on every instance.
    clock += 4_000;
    expect((await lookup(c, AUTH)).statusCode).toBe(200);
    expect((await lookup(a, WRONG)).statusCode).toBe(401);
    expect((await lookup(b, AUTH)).statusCode).toBe(200);
  });

  it('keeps tenants apart on one Redis', async () => {
    const tenants = (max: number) => ({
      tenants: {
        a: { basePath: '/a', auth: { tokens: ['token-of-a-0123456789'] }, limits: { perAddress: { max } } },
        b: { basePath: '/b', auth: { tokens: ['token-of-b-0123456789'] }, limits: { perAddress: { max } } },
      },
    });
    const one = await instance(tenants(2));
    const two = await instance(tenants(2));
    const call = (on: TestService, tenant: 'a' | 'b') =>
      on.app.inject({
        method: 'POST',
        url: `/${tenant}/Lookup`,
        headers: { 'x-execution-token': `token-of-${tenant}-0123456789` },
        payload: NUMBER,
        remoteAddress: '203.0.113.9',
      });
    expect((await call(one, 'a')).statusCode).toBe(200);
    expect((await call(two, 'a')).statusCode).toBe(200);
    expect((await call(one, 'a')).statusCode).toBe(429);
    // Tenant b's count for the same address is its own.
    expect((await call(two, 'b')).statusCode).toBe(200);
    expect((await call(one, 'b')).statusCode).toBe(200);
    expect((await call(two, 'b')).statusCode).toBe(429);
  });
});

describe('limits when Redis does not answer', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('answer every request, counted in the instance, and say so in the log once', async () => {
    const lines: string[] = [];
    // Nothing listens on port 1: every Redis command fails at once.
    service = await build(
      { limits: { perAddress: { max: 3, windowMs: 60_000 }, redis: { url: 'redis://127.0.0.1:1' } } },
      lines,
    );
    await service.importCsv('id,name,phone\nq1,Quinn,021 552 20 00\n');
    const lookup = () =>
      service!.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: AUTH,
        payload: NUMBER,
        remoteAddress: '203.0.113.7',
      });
    for (let i = 0; i < 3; i++) {
      const answer = await lookup();
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toHaveLength(1);
    }
    // The instance's own count still holds the limit.
    expect((await lookup()).statusCode).toBe(429);
    const warnings = lines.filter((line) => line.includes('rate limits: Redis did not answer'));
    expect(warnings).toHaveLength(1);
  });
});

describe('limits.redis settings', () => {
  it('load as the security page shows them, from the environment too, and refuse a URL of another kind', () => {
    const example = parse(docExample('docs/security.md', 'redis:')) as ConfigInput;
    const loaded = loadConfig({ env: { REDIS_PASSWORD: 'pw-0123456789' }, overrides: example });
    expect(loaded.tenants[0]!.limits.redis).toEqual({
      url: 'redis://10.0.0.5:6379',
      passwordEnv: 'REDIS_PASSWORD',
      prefix: 'callcard:limits:',
      timeoutMs: 100,
    });
    const fromEnv = loadConfig({ env: { CALLCARD_LIMITS_REDIS_URL: 'rediss://cache.internal:6380' } });
    expect(fromEnv.tenants[0]!.limits.redis?.url).toBe('rediss://cache.internal:6380');
    expect(() =>
      loadConfig({ env: {}, overrides: { limits: { redis: { url: 'http://cache:6379' } } } }),
    ).toThrow(/limits\.redis\.url: must be a redis:\/\/ or rediss:\/\/ URL/);
  });
});
