import { z } from 'zod';
import { authSchema } from '../sources/rest/schema.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const retries = {
  /** Attempts before the delivery is dead (visible in `callcard outbox`, and retried from there). */
  maxAttempts: z.coerce.number().int().min(1).max(1000).default(12),
};

/** POSTs the whole call and the matched contact as JSON, e.g. to an automation tool. */
export const webhookActionSchema = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string()).default({}),
    auth: authSchema,
    /** Where the target's answer says the id and the URL of the record it created (dotted paths). */
    response: z.object({ id: z.string().optional(), url: z.string().optional() }).strict().default({}),
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(10_000),
    ...retries,
  })
  .strict();

export const actionSchema = z.discriminatedUnion('type', [webhookActionSchema]);
export type ActionConfig = z.output<typeof actionSchema>;

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
  })
  .strict()
  .prefault({});
