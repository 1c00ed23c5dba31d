/**
 * The sql action end to end: the CONNECTOR posts a call to /CallFlow (twice, as after a timeout on
 * its side), callcard logs it in SuiteCRM (the real MariaDB) once, and answers with the call's
 * page in the CRM.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { TestService } from '../helper.js';
import { describeWithServer, type MysqlDatabase, mysqlUnavailable } from '../sources/sql/support.js';
import {
  SUITECRM_ALEXA as ALEXA,
  callInputs,
  deliveringService,
  postCall,
  suiteCrmDatabase,
} from './support.js';

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
});
