/**
 * The sql action end to end: the CONNECTOR posts a call to /CallFlow (twice, as after a timeout on
 * its side), callcard logs it in SuiteCRM (the real MariaDB) once, and answers with the call's
 * page in the CRM.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { AUTH, build, type TestService } from '../helper.js';
import {
  describeWithServer,
  type MysqlDatabase,
  mysqlDatabase,
  mysqlUnavailable,
} from '../sources/sql/support.js';

const unavailable = await mysqlUnavailable();
const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/sql/${name}.sql`, import.meta.url), 'utf8');

const BASE = 'https://crm.example.ch/crm';
const ALEXA = '2f0d1c8e-5a4b-4c3d-9e8f-000000000001';
const CALL = {
  contactCrmId: ALEXA,
  userCrmId: '1',
  originatorNumber: '41215522000',
  destinationNumber: '41445556677',
  direction: 'incoming',
  startedTime: '2026-11-26T10:00:00Z',
  answeredTime: '2026-11-26T10:00:05Z',
  endedTime: '2026-11-26T10:02:05Z',
};

describeWithServer('sql action through HTTP', unavailable, () => {
  let db: MysqlDatabase;
  let service: TestService | undefined;

  beforeAll(async () => {
    db = await mysqlDatabase('cc_sqlact_http');
    await db.exec(fixture('suitecrm'));
    await db.exec(fixture('suitecrm-calls'));
    await db.exec(
      `INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, phone_work)
       VALUES (?, '2024-03-01 09:00:00', '2024-03-01 09:00:00', 0, 'Alexa', 'Holiday', '+41 (0)21 552 20 00')`,
      [ALEXA],
    );
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('POST /CallFlow twice: one Call in SuiteCRM, linked to the contact; the answer is its page', async () => {
    service = await build(
      {
        workflows: {
          CallFlow: {
            actions: [{ type: 'sql', driver: 'mysql', url: db.url(), preset: 'suitecrm', baseUrl: BASE }],
          },
        },
        delivery: { answerBudgetMs: 2000 },
      },
      undefined,
      { startDelivery: true },
    );
    await service.importCsv(`id,name,company,phone\n${ALEXA},Alexa Holiday,White Cross Co,021 552 20 00\n`);
    const post = () =>
      service!.app.inject({ method: 'POST', url: '/CallFlow', headers: AUTH, payload: { inputs: CALL } });

    const first = await post();
    const again = await post();
    expect(first.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    const answer = first.json();
    expect(again.json()).toEqual(answer);

    const calls = await db.rows<{ id: string; name: string; parent_id: string; status: string }>(
      'SELECT id, name, parent_id, status FROM calls',
    );
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({
      name: 'Incoming call from Alexa Holiday',
      parent_id: ALEXA,
      status: 'Held',
    });
    expect(answer.url).toBe(`${BASE}/index.php?module=Calls&action=DetailView&record=${call!.id}`);
    expect(await db.rows('SELECT call_id, contact_id FROM calls_contacts')).toEqual([
      { call_id: call!.id, contact_id: ALEXA },
    ]);
    expect(await service.store.outbox.counts()).toMatchObject({ done: 1, pending: 0, dead: 0 });
  });
});
