import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { attemptTimeout } from '../../src/workflows/config.js';

const hook = (timeoutMs: number) => ({ type: 'webhook', url: 'https://hooks.example.com/x', timeoutMs });

function problems(config: unknown): string[] {
  const result = configSchema.safeParse(config);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('delivery settings', () => {
  it('defaults: a 30 s lease, a 1 s poll, attempts long enough for every action (at least 60 s)', () => {
    const { tenants } = configSchema.parse({});
    const tenant = Object.values(tenants)[0]!;
    expect(tenant.delivery).toMatchObject({ leaseMs: 30_000, pollMs: 1000 });
    expect(attemptTimeout(tenant.workflows, tenant.delivery)).toBe(60_000);

    // The longest timeout an action may have is not cut short by the attempt's.
    const slow = Object.values(
      configSchema.parse({ workflows: { CallFlow: { actions: [hook(5000), hook(120_000)] } } }).tenants,
    )[0]!;
    expect(attemptTimeout(slow.workflows, slow.delivery)).toBe(240_000);
  });

  it('takes its own attempt time, never shorter than an action’s timeout', () => {
    const workflows = { CallFlow: { actions: [hook(5000)] }, Ticket: { actions: [hook(90_000)] } };
    expect(problems({ workflows, delivery: { attemptTimeoutMs: 60_000 } })).toEqual([
      'tenants.default.delivery.attemptTimeoutMs: must be at least the longest action timeoutMs (90000 at workflows.Ticket.actions.0.timeoutMs)',
    ]);
    const tenant = Object.values(
      configSchema.parse({ workflows, delivery: { attemptTimeoutMs: 90_000, leaseMs: 5000, pollMs: 200 } })
        .tenants,
    )[0]!;
    expect(attemptTimeout(tenant.workflows, tenant.delivery)).toBe(90_000);
    expect(tenant.delivery).toMatchObject({ leaseMs: 5000, pollMs: 200 });
  });

  it('refuses settings out of range', () => {
    expect(problems({ delivery: { leaseMs: 1000, pollMs: 10, attemptTimeoutMs: 500 } })).toHaveLength(3);
  });
});
