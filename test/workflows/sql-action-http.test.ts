/**
 * The sql action end to end: the CONNECTOR posts a call to /CallFlow (twice, as after a timeout on
 * its side), callcard logs it in SuiteCRM (the real MariaDB) once, and answers with the call's
 * page in the CRM.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { TestService } from '../support/helper.js';
import { describeWithServer, type MysqlDatabase, mysqlUnavailable } from '../support/sql.js';
import {
  SUITECRM_ALEXA as ALEXA,
  callInputs,
  deliveringService,
  postCall,
  suiteCrmDatabase,
} from '../support/workflows.js';

const unavailable = await mysqlUnavailable();

const BASE = 'https://crm.example.ch/crm';
const CALL = callInputs({ contactCrmId: ALEXA, userCrmId: '1' });

describeWithServer('sql action through HTTP', unavailable, () => {
  let db: MysqlDatabase;
  let service: TestService | undefined;

  beforeAll(async () => {
    db = await suiteCrmDatabase('cc_sqlact_http');
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('POST /CallFlow twice: one Call in SuiteCRM, linked to the contact; the answer is its page', async () => {
    service = await deliveringService(
      {
        workflows: {
          CallFlow: {
            actions: [{ type: 'sql', driver: 'mysql', url: db.url(), preset: 'suitecrm', baseUrl: BASE }],
          },
        },
        delivery: { answerBudgetMs: 2000 },
      },
      `id,name,company,phone\n${ALEXA},Alexa Holiday,White Cross Co,021 552 20 00\n`,
    );
    const post = () => postCall(service!, CALL);

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

  it('a call completed after it was logged updates its Call (Held, duration), and a repeat changes nothing', async () => {
    await db.exec('DELETE FROM calls_contacts');
    await db.exec('DELETE FROM calls');
    service = await deliveringService(
      {
        workflows: {
          CallFlow: {
            actions: [{ type: 'sql', driver: 'mysql', url: db.url(), preset: 'suitecrm', baseUrl: BASE }],
          },
        },
        delivery: { answerBudgetMs: 2000 },
      },
      `id,name,company,phone\n${ALEXA},Alexa Holiday,White Cross Co,021 552 20 00\n`,
    );
    const row = () =>
      db.rows<Record<string, unknown>>(
        `SELECT id, name, status, duration_hours, duration_minutes, CAST(date_start AS CHAR) AS date_start,
           CAST(date_end AS CHAR) AS date_end, date_modified FROM calls`,
      );
    const ringing = { ...CALL, answeredTime: undefined, endedTime: undefined };
    const answer = (await postCall(service, ringing)).json();
    const [before] = await row();
    expect(before).toMatchObject({
      name: 'Missed call from Alexa Holiday',
      status: 'Not Held',
      duration_minutes: 0,
    });

    expect((await postCall(service, CALL)).json()).toEqual(answer);
    const done = async (n: number) => {
      for (let i = 0; i < 400 && (await service!.store.outbox.counts()).done < n; i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      return (await service!.store.outbox.counts()).done;
    };
    expect(await done(2)).toBe(2);
    const after = await row();
    expect(after).toEqual([
      expect.objectContaining({
        id: before!['id'],
        name: 'Incoming call from Alexa Holiday',
        status: 'Held',
        duration_hours: 0,
        duration_minutes: 2,
        date_start: '2026-11-26 10:00:00',
        date_end: '2026-11-26 10:02:05',
      }),
    ]);
    expect(answer.url).toBe(`${BASE}/index.php?module=Calls&action=DetailView&record=${before!['id']}`);
    expect(await db.rows('SELECT call_id, contact_id FROM calls_contacts')).toEqual([
      { call_id: before!['id'], contact_id: ALEXA },
    ]);

    // The same details again: no update.
    await postCall(service, CALL);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await service.store.outbox.counts()).toMatchObject({ done: 2, pending: 0, running: 0, dead: 0 });
  });
});
