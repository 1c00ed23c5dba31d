import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMetricsApp } from '../../src/http/app.js';
import { build, type TestService } from '../support/helper.js';

// Fastify names options it will drop in its next major version with a process warning: callcard
// uses none of them, so that an upgrade changes nothing and the service's output stays clean.
describe('the HTTP apps', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('use no option Fastify has deprecated', async () => {
    const warnings: string[] = [];
    const record = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', record);
    try {
      const metrics = await buildMetricsApp({ logger: pino({ level: 'silent' }), registry: new Registry() });
      expect((await metrics.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      await metrics.close();
      service = await build({ metrics: { port: 9 } });
      expect((await service.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // Warnings are emitted on the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', record);
    }
    expect(warnings.filter((warning) => warning.startsWith('FastifyDeprecation'))).toEqual([]);
  });
});
