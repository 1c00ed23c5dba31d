import type { z } from 'zod';
import { createRestAction, restActionSchema } from './rest.js';
import { createSqlAction, sqlActionSchema } from './sql.js';
import type { Action } from './types.js';
import { createWebhookAction, webhookActionSchema } from './webhook.js';

export interface ActionDeps {
  /** Directory that relative paths (secret files) are read against. */
  readonly baseDir: string;
}

interface ActionType<S extends z.ZodObject> {
  readonly schema: S;
  readonly create: (config: z.output<S>, deps: ActionDeps) => Action;
}

function actionType<S extends z.ZodObject>(type: ActionType<S>): ActionType<S> {
  return type;
}

/** Workflow actions by `type`. Adding one: a file under actions/, then one line here. */
export const actionTypes = {
  webhook: actionType({ schema: webhookActionSchema, create: createWebhookAction }),
  rest: actionType({ schema: restActionSchema, create: createRestAction }),
  sql: actionType({ schema: sqlActionSchema, create: createSqlAction }),
} as const;

export type ActionConfig = z.output<(typeof actionTypes)[keyof typeof actionTypes]['schema']>;

export function createAction(config: ActionConfig & { maxAttempts: number }, deps: ActionDeps) {
  const type = actionTypes[config.type as keyof typeof actionTypes];
  // The config was validated against the type's schema when it was loaded.
  return { action: type.create(config as never, deps), maxAttempts: config.maxAttempts };
}
