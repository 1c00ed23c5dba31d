import { afterEach, expect, it } from 'vitest';
import type { ServedTenant } from '../../src/main.js';
import { build, type TestService } from '../support/helper.js';

let service: TestService | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

/** Counts the outbox claims of a tenant's delivery worker from now on. */
function countClaims(core: ServedTenant) {
  const outbox = core.store.outbox;
  const claim = outbox.claim.bind(outbox);
  const counted = { n: 0 };
  outbox.claim = (...args) => {
    counted.n++;
    return claim(...args);
  };
  return counted;
}

it('runs no delivery worker for a tenant without workflows', async () => {
  service = await build(
    {
      delivery: { pollMs: 50 },
      tenants: {
        busy: {
          basePath: '/busy',
          auth: { tokens: ['busy-token-aaaaaaaaaaaaaaaa'] },
          workflows: { CallFlow: { actions: [] } },
        },
        idle: { basePath: '/idle', auth: { tokens: ['idle-token-bbbbbbbbbbbbbbbb'] } },
      },
    },
    undefined,
    { startDelivery: true },
  );
  const [busy, idle] = ['busy', 'idle'].map(
    (name) => service!.tenants.find((core) => core.tenant.name === name)!,
  );
  const busyClaims = countClaims(busy!);
  const idleClaims = countClaims(idle!);
  // The tenant with workflows polls its outbox; by then the other would have too, at the same pace.
  await expect.poll(() => busyClaims.n, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(3);
  expect(idleClaims.n).toBe(0);
});
