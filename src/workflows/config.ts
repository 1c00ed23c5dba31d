import * as z from 'zod';
import { actionTypes } from './actions/registry.js';

const actionSchemas = Object.values(actionTypes).map((type) => type.schema);
export const actionSchema = z.discriminatedUnion(
  'type',
  actionSchemas as unknown as [(typeof actionSchemas)[number]],
);

export const workflowSchema = z
  .object({
    /** Only contacts of these sources offer the workflow (crmActions); all when absent. */
    sources: z.array(z.string()).min(1).optional(),
    /** Run after the call is recorded in the journal, each through the durable outbox. */
    actions: z.array(actionSchema).default([]),
  })
  .strict();

export const workflowsSchema = z
  .record(
    z.string().regex(/^[A-Za-z][\w-]{0,63}$/, 'a workflow name is letters, digits, "-" and "_"'),
    workflowSchema,
  )
  .default({})
  .superRefine((workflows, ctx) => {
    const reserved = ['lookup', 'calls', 'healthz', 'logo.svg'];
    for (const name of Object.keys(workflows)) {
      if (reserved.includes(name.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `"${name}" is not a workflow name callcard can serve`,
        });
      }
    }
  });

export const deliverySchema = z
  .object({
    /** How long a workflow's answer may wait for the target to confirm, before callcard answers with its own page. */
    answerBudgetMs: z.coerce.number().int().min(0).max(10_000).default(1500),
    /** Exponential backoff between attempts, capped. */
    backoffBaseMs: z.coerce.number().int().min(100).default(5_000),
    backoffMaxMs: z.coerce.number().int().min(1000).default(3_600_000),
    concurrency: z.coerce.number().int().min(1).max(64).default(4),
    /**
     * How long a delivery being attempted stays the worker's without news from it; renewed every
     * third of it while the attempt runs. After a crash a restarted instance takes its deliveries
     * back at once; another process would wait this long.
     */
    leaseMs: z.coerce.number().int().min(3_000).max(600_000).default(30_000),
    /** How often the outbox looks for due deliveries when nothing wakes it. */
    pollMs: z.coerce.number().int().min(50).max(60_000).default(1000),
    /** An attempt still running after this is cut off and counts as failed; default: see attemptTimeout. */
    attemptTimeoutMs: z.coerce.number().int().min(1000).max(3_600_000).optional(),
    /** Done and dead deliveries (with their payloads) are removed this many days after they ended; null keeps them. */
    retentionDays: z.coerce.number().int().min(1).max(36_500).nullable().default(90),
  })
  .strict()
  .prefault({});

type WorkflowsConfig = z.output<typeof workflowsSchema>;
type DeliveryConfig = z.output<typeof deliverySchema>;

/** Shortest attempt time when no action asks for more. */
const MIN_DEFAULT_ATTEMPT_MS = 60_000;

/** The longest `timeoutMs` of the configured actions, and where it is set. */
function longestActionTimeout(
  workflows: WorkflowsConfig,
): { ms: number; path: (string | number)[] } | undefined {
  let longest: { ms: number; path: (string | number)[] } | undefined;
  for (const [name, workflow] of Object.entries(workflows)) {
    workflow.actions.forEach((action, index) => {
      if (!longest || action.timeoutMs > longest.ms)
        longest = { ms: action.timeoutMs, path: ['workflows', name, 'actions', index, 'timeoutMs'] };
    });
  }
  return longest;
}

/**
 * How long an attempt may run: `delivery.attemptTimeoutMs`, else twice the longest action
 * `timeoutMs` (a rest action that creates the contact first makes two requests), at least 60 s.
 */
export function attemptTimeout(workflows: WorkflowsConfig, delivery: DeliveryConfig): number {
  if (delivery.attemptTimeoutMs !== undefined) return delivery.attemptTimeoutMs;
  return Math.max(MIN_DEFAULT_ATTEMPT_MS, 2 * (longestActionTimeout(workflows)?.ms ?? 0));
}

/** An attempt time shorter than an action's own timeout would cut that action off before it gives up. */
export function checkDelivery(
  tenant: { readonly workflows: WorkflowsConfig; readonly delivery: DeliveryConfig },
  ctx: z.core.$RefinementCtx<unknown>,
): void {
  const { attemptTimeoutMs } = tenant.delivery;
  const longest = longestActionTimeout(tenant.workflows);
  if (attemptTimeoutMs !== undefined && longest && attemptTimeoutMs < longest.ms) {
    ctx.addIssue({
      code: 'custom',
      path: ['delivery', 'attemptTimeoutMs'],
      message: `must be at least the longest action timeoutMs (${longest.ms} at ${longest.path.join('.')})`,
    });
  }
}
