import { z } from 'zod';
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
    /** Done and dead deliveries (with their payloads) are removed this many days after they ended; null keeps them. */
    retentionDays: z.coerce.number().int().min(1).max(36_500).nullable().default(90),
  })
  .strict()
  .prefault({});
