import type * as z from 'zod';
import { bexioActionSchema } from './bexio.js';
import { dynamics365ActionSchema } from './dynamics365.js';
import { hubspotActionSchema } from './hubspot.js';
import { odooActionSchema } from './odoo.js';
import { pipedriveActionSchema } from './pipedrive.js';
import { restActionSchema } from './rest.js';
import { salesforceActionSchema } from './salesforce.js';
import { sqlActionSchema } from './sql-schema.js';
import type { Action, ActionDeps } from './types.js';
import { webhookActionSchema } from './webhook.js';
import { weclappActionSchema } from './weclapp.js';
import { zohoActionSchema } from './zoho.js';

export type { ActionDeps } from './types.js';

interface ActionType<S extends z.ZodObject> {
  readonly schema: S;
  /** The action's module, imported when an action of its type is configured: its driver loads only then. */
  readonly load: () => Promise<(config: z.output<S>, deps: ActionDeps) => Action>;
}

function actionType<S extends z.ZodObject>(type: ActionType<S>): ActionType<S> {
  return type;
}

/** Workflow actions by `type`. Adding one: a file under actions/, then one line here. */
export const actionTypes = {
  webhook: actionType({
    schema: webhookActionSchema,
    load: async () => (await import('./webhook.js')).createWebhookAction,
  }),
  rest: actionType({
    schema: restActionSchema,
    load: async () => (await import('./rest.js')).createRestAction,
  }),
  sql: actionType({ schema: sqlActionSchema, load: async () => (await import('./sql.js')).createSqlAction }),
  pipedrive: actionType({
    schema: pipedriveActionSchema,
    load: async () => (await import('./pipedrive.js')).createPipedriveAction,
  }),
  hubspot: actionType({
    schema: hubspotActionSchema,
    load: async () => (await import('./hubspot.js')).createHubspotAction,
  }),
  weclapp: actionType({
    schema: weclappActionSchema,
    load: async () => (await import('./weclapp.js')).createWeclappAction,
  }),
  bexio: actionType({
    schema: bexioActionSchema,
    load: async () => (await import('./bexio.js')).createBexioAction,
  }),
  zoho: actionType({
    schema: zohoActionSchema,
    load: async () => (await import('./zoho.js')).createZohoAction,
  }),
  dynamics365: actionType({
    schema: dynamics365ActionSchema,
    load: async () => (await import('./dynamics365.js')).createDynamics365Action,
  }),
  salesforce: actionType({
    schema: salesforceActionSchema,
    load: async () => (await import('./salesforce.js')).createSalesforceAction,
  }),
  odoo: actionType({
    schema: odooActionSchema,
    load: async () => (await import('./odoo.js')).createOdooAction,
  }),
} as const;

export type ActionConfig = z.output<(typeof actionTypes)[keyof typeof actionTypes]['schema']>;

export async function createAction(config: ActionConfig & { maxAttempts: number }, deps: ActionDeps) {
  const type = actionTypes[config.type as keyof typeof actionTypes];
  const create = await type.load();
  // The config was validated against the type's schema when it was loaded.
  return { action: create(config as never, deps), maxAttempts: config.maxAttempts };
}
