import * as z from 'zod';
import { connectionSettings } from '../../sql/connection.js';
import { bindNamed } from '../../sql/named-params.js';
import { parseTemplate } from '../../util/template.js';
import { SQL_ACTION_PARAMETERS } from './sql-parameters.js';
import { retrySettings } from './types.js';

export { SQL_ACTION_PARAMETERS };

/**
 * vtiger is not a list of statements: its ids come from a sequence, in a transaction (sql-vtiger.ts).
 * The others index callPresets in sql.ts, which the type checker holds to these names.
 */
const PRESETS = ['suitecrm', 'sugarcrm', 'vtiger'] as const;

/** Logs each call as a row (or rows) in a database: a CRM's own tables (preset) or your statement. */
export const sqlActionSchema = z
  .object({
    type: z.literal('sql'),
    /** A SQLite `file` is opened for writing. */
    ...connectionSettings,
    /** A CRM whose call tables callcard knows: only the connection and `baseUrl` are needed. */
    preset: z.enum(PRESETS).optional(),
    /** The CRM's web address, for the link to the call it logged. */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Your own statement(s), with :named parameters; each must leave an existing row alone. */
    query: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /**
     * With `query`: the statement(s) that update the row when the call changes after it was logged
     * (`:recordId` is the row's key); without, a changed call is not written again.
     */
    update: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** The record's page: https://crm.example/calls/{recordId}. */
    recordUrl: z.string().optional(),
    /** The CRM user a call is assigned to when the CONNECTOR sends no userCrmId. */
    userId: z.string().min(1).optional(),
    /** Only a contact found in this callcard source is linked (its ids are the CRM's). */
    contactSource: z.string().min(1).optional(),
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(10_000),
    ...retrySettings,
  })
  .strict()
  .superRefine((config, ctx) => {
    const issue = (message: string, path: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
    if (config.driver === 'sqlite' ? !config.file : !config.url) {
      issue(config.driver === 'sqlite' ? 'sqlite needs a file' : `${config.driver} needs a url`, 'driver');
    }
    if (Boolean(config.preset) === Boolean(config.query)) issue('give either preset or query', 'query');
    if (config.update && !config.query)
      issue('update goes with query (presets update their own rows)', 'update');
    if (config.preset && config.driver !== 'mysql') {
      issue(`${config.preset} runs on MySQL/MariaDB: use driver mysql`, 'driver');
    }
    if (config.preset && !config.baseUrl) {
      issue("a preset needs baseUrl (the CRM's address, for the link to the call)", 'baseUrl');
    }
    if (config.preset === 'vtiger' && !/^\d+$/.test(config.userId ?? '')) {
      issue(
        'vtiger needs userId: the id of the vtiger user a call is assigned to when the CONNECTOR sends none',
        'userId',
      );
    }
    const names = Object.fromEntries(SQL_ACTION_PARAMETERS.map((name) => [name, null]));
    for (const statement of [config.update ?? []].flat()) {
      try {
        bindNamed(statement, names, 'question');
      } catch (error) {
        issue(`${(error as Error).message} (known: ${SQL_ACTION_PARAMETERS.join(', ')})`, 'update');
      }
    }
    for (const statement of [config.query ?? []].flat()) {
      try {
        bindNamed(statement, names, 'question');
      } catch (error) {
        issue(`${(error as Error).message} (known: ${SQL_ACTION_PARAMETERS.join(', ')})`, 'query');
      }
      if (!/:(recordId|deliveryId|callId)\b/.test(statement)) {
        issue(
          'each statement needs a key that is the same on every attempt: :recordId or :deliveryId',
          'query',
        );
      }
    }
    for (const name of parseTemplate(config.recordUrl ?? '').names) {
      if (!(SQL_ACTION_PARAMETERS as readonly string[]).includes(name)) {
        issue(`unknown placeholder {${name}}`, 'recordUrl');
      }
    }
  });
