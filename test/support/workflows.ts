/**
 * Shared pieces of the workflow tests: a call as the CONNECTOR posts it, the payload a workflow
 * gives its actions, sql actions closed after their test, SuiteCRM's database with a contact, and
 * the whole service delivering its workflows.
 */
import { expect } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { readCallInputs } from '../../src/connector/wire.js';
import { createSqlAction, sqlActionSchema } from '../../src/workflows/actions/sql.js';
import { type Action, DeliveryError } from '../../src/workflows/actions/types.js';
import { toRecord } from '../../src/workflows/workflow.js';
import { AUTH, build, type TestService } from './helper.js';
import { type MysqlDatabase, mysqlDatabase, never, sqlFixture } from './sql.js';

export const CALL_ID = 'DL9nRm1DLM61yWcRVfrxkQ';
/** The delivery of the call to the first action of CallFlow. */
export const DELIVERY = `CallFlow:${CALL_ID}:0`;

/** A call as the CONNECTOR posts it, with `fields` added: incoming, answered after 5 s, two minutes long. */
export function callInputs(fields: Record<string, string>): Record<string, string> {
  return {
    originatorNumber: '41215522000',
    destinationNumber: '41445556677',
    direction: 'incoming',
    startedTime: '2026-11-26T10:00:00Z',
    answeredTime: '2026-11-26T10:00:05Z',
    endedTime: '2026-11-26T10:02:05Z',
    ...fields,
  };
}

/** `call` missed: never answered, thirty seconds of ringing. */
export function missed(call: Record<string, unknown>): Record<string, unknown> {
  const { answeredTime: _, ...rest } = call;
  return { ...rest, endedTime: '2026-11-26T10:00:30Z' };
}

/** `call` made the other way, from extension 201 to a mobile, without a user. */
export function outgoing(call: Record<string, unknown>): Record<string, unknown> {
  const { userCrmId: _, ...rest } = call;
  return {
    ...rest,
    direction: 'outgoing',
    originatorNumber: '201',
    destinationNumber: '41790000000',
    destinationName: '',
  };
}

/**
 * The payload a workflow gives its actions for a call of CALL_ID, through the outbox's JSON, with
 * `contact` as the matched contact unless another (or null) is given.
 */
export function payloads(contact: Record<string, unknown>) {
  return (inputs: Record<string, unknown>, matched: Record<string, unknown> | null = contact) => {
    const { inputs: all, ...fields } = toRecord(CALL_ID, 'CallFlow', readCallInputs({ inputs }));
    return JSON.parse(
      JSON.stringify({
        workflow: 'CallFlow',
        callId: CALL_ID,
        call: { ...all, ...fields },
        contact: matched,
      }),
    ) as Record<string, unknown>;
  };
}

const open: Action[] = [];

/** A sql action from the config as a user writes it; `closeActions` closes it. */
export function sqlAction(config: Record<string, unknown>, baseDir = process.cwd()): Action {
  const action = createSqlAction(sqlActionSchema.parse({ type: 'sql', ...config }), { baseDir });
  open.push(action);
  return action;
}

/** Closes the actions `sqlAction` made: after each test, and before a test's database goes. */
export async function closeActions(): Promise<void> {
  await Promise.all(open.splice(0).map((action) => action.close?.()));
}

/** One attempt of a delivery (by default the call's to the first action). */
export const run = (action: Action, payload: Record<string, unknown>, deliveryId = DELIVERY) =>
  action.run(payload, { signal: never(), deliveryId, attempt: 1 });

/** The DeliveryError an attempt fails with. */
export async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

/** Alexa Holiday's id in SuiteCRM. */
export const SUITECRM_ALEXA = '2f0d1c8e-5a4b-4c3d-9e8f-000000000001';

/** A MariaDB database laid out as SuiteCRM creates it, its calls included, with Alexa Holiday as a contact. */
export async function suiteCrmDatabase(prefix: string): Promise<MysqlDatabase> {
  const db = await mysqlDatabase(prefix);
  await db.exec(sqlFixture('suitecrm'));
  await db.exec(sqlFixture('suitecrm-calls'));
  await db.exec(
    `INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, phone_work)
     VALUES (?, '2024-03-01 09:00:00', '2024-03-01 09:00:00', 0, 'Alexa', 'Holiday', '+41 (0)21 552 20 00')`,
    [SUITECRM_ALEXA],
  );
  return db;
}

/** The whole service, delivering its workflows' actions, with the contacts of `csv` in its embedded source. */
export async function deliveringService(config: ConfigInput, csv: string): Promise<TestService> {
  const service = await build(config, undefined, { startDelivery: true });
  await service.importCsv(csv);
  return service;
}

/** A call posted to a workflow, as the CONNECTOR posts it. */
export const postCall = (service: TestService, inputs: unknown, workflow = 'CallFlow') =>
  service.app.inject({ method: 'POST', url: `/${workflow}`, headers: AUTH, payload: { inputs } as object });
