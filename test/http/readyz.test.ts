import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { build, type TestService, tempDir } from '../helper.js';

describe('GET /readyz', () => {
  let service: TestService | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    await service?.close();
    dir?.remove();
  });

  it('is ready with the embedded store alone, without a token', async () => {
    service = await build();
    const response = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: [{ name: 'store', ok: true }] });
  });

  it('is not ready until each mirrored source has had a good sync, and says which', async () => {
    dir = tempDir();
    const file = join(dir.path, 'office.csv');
    service = await build({ sources: [{ type: 'embedded' }, { type: 'file', name: 'office', path: file }] });
    const before = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json().checks).toContainEqual({
      name: 'source office',
      ok: false,
      detail: 'first sync running',
    });

    // The file is missing: the first sync fails.
    await service.sync.sync(service.mirrors.get('office')!);
    const failed = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(failed.json().checks).toContainEqual({
      name: 'source office',
      ok: false,
      detail: 'first sync failed',
    });

    writeFileSync(file, 'id,name,phone\no1,Office,021 552 20 00\n');
    await service.sync.sync(service.mirrors.get('office')!);
    const ready = await service.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toContainEqual({ name: 'source office', ok: true });

    // Once synced, a later failure leaves it ready: lookups answer from the last good data.
    rmSync(file);
    await service.sync.sync(service.mirrors.get('office')!, { full: true });
    expect((await service.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});
