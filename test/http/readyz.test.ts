import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { build, type TestService, tempDir } from '../support/helper.js';

describe('GET /readyz', () => {
  let service: TestService | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    await service?.close();
    dir?.remove();
  });

  const METRICS_TOKEN = 'metrics-token-0123456789';
  /** With the metrics token, which shows the checks. */
  const readyz = () =>
    service!.app.inject({
      method: 'GET',
      url: '/readyz',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });

  it('is ready with the embedded store alone; the checks only with the metrics token', async () => {
    service = await build({ metrics: { token: METRICS_TOKEN } });
    const response = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready' });
    for (const authorization of ['Bearer wrong-token-0123456789', `Basic ${METRICS_TOKEN}`]) {
      const wrong = await service.app.inject({ method: 'GET', url: '/readyz', headers: { authorization } });
      expect(wrong.json()).toEqual({ status: 'ready' });
    }
    expect((await readyz()).json()).toEqual({ status: 'ready', checks: [{ name: 'store', ok: true }] });
  });

  it('shows the checks on the metrics port, never without a token on the main one', async () => {
    dir = tempDir();
    const file = join(dir.path, 'office.csv');
    service = await build({
      metrics: { port: 9464 },
      sources: [{ type: 'embedded' }, { type: 'file', name: 'office', path: file }],
    });
    const main = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(main.statusCode).toBe(503);
    expect(main.json()).toEqual({ status: 'not ready' });
    const internal = await service.metricsApp!.inject({ method: 'GET', url: '/readyz' });
    expect(internal.statusCode).toBe(503);
    expect(internal.json().checks).toContainEqual({
      name: 'source office',
      ok: false,
      detail: 'first sync running',
    });
  });

  it('is not ready until each mirrored source has had a good sync, and says which', async () => {
    dir = tempDir();
    const file = join(dir.path, 'office.csv');
    service = await build({
      metrics: { token: METRICS_TOKEN },
      sources: [{ type: 'embedded' }, { type: 'file', name: 'office', path: file }],
    });
    const before = await readyz();
    expect(before.statusCode).toBe(503);
    expect(before.json().checks).toContainEqual({
      name: 'source office',
      ok: false,
      detail: 'first sync running',
    });

    // The file is missing: the first sync fails.
    await service.sync.sync(service.mirrors.get('office')!);
    const failed = await readyz();
    expect(failed.json().checks).toContainEqual({
      name: 'source office',
      ok: false,
      detail: 'first sync failed',
    });

    writeFileSync(file, 'id,name,phone\no1,Office,021 552 20 00\n');
    await service.sync.sync(service.mirrors.get('office')!);
    const ready = await readyz();
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toContainEqual({ name: 'source office', ok: true });

    // Once synced, a later failure leaves it ready: lookups answer from the last good data.
    rmSync(file);
    await service.sync.sync(service.mirrors.get('office')!, { full: true });
    expect((await readyz()).statusCode).toBe(200);
  });
});
