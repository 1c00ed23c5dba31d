/**
 * The sql action's vtiger preset: a call logged as a vtiger Calendar event (test/fixtures/sql/
 * vtiger-calls.sql) exactly once, its id taken from vtiger_crmentity_seq in a transaction with the
 * marker that remembers it. In the real MariaDB; skipped without it, failing under CI.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sqlActionSchema } from '../../src/workflows/actions/sql.js';
import {
  describeWithServer,
  type MysqlDatabase,
  mysqlDatabase,
  mysqlUnavailable,
  sqlFixture,
} from '../support/sql.js';
import {
  CALL_ID,
  callInputs,
  closeActions,
  DELIVERY,
  failure,
  missed,
  outgoing,
  payloads,
  run,
  sqlAction,
} from '../support/workflows.js';

const mysqlDown = await mysqlUnavailable();

const BASE = 'https://crm.example.ch/vtiger/';
const ALEXA = '5';
const SEQ = 10;
const recordUrl = (id: number | string) =>
  `https://crm.example.ch/vtiger/index.php?module=Calendar&view=Detail&record=${id}`;

const CALL = callInputs({ contactCrmId: ALEXA, userCrmId: '1', destinationName: 'Support' });
const CONTACT = { id: ALEXA, name: 'Alexa Holiday', company: 'White Cross Co', source: 'crm' };
const payloadOf = payloads(CONTACT);

afterEach(closeActions);

describe('sql action: vtiger config', () => {
  const messages = (config: Record<string, unknown>) =>
    (sqlActionSchema.safeParse({ type: 'sql', ...config }).error?.issues ?? [])
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('\n');
  it('needs MySQL/MariaDB, baseUrl and a numeric userId', () => {
    const my = { driver: 'mysql', url: 'mysql://crm@db/vtiger', preset: 'vtiger' };
    expect(messages({ ...my, baseUrl: BASE, userId: '1' })).toBe('');
    expect(messages({ ...my, baseUrl: BASE })).toMatch(/userId: vtiger needs userId/);
    expect(messages({ ...my, baseUrl: BASE, userId: 'admin' })).toMatch(/userId: vtiger needs userId/);
    expect(messages({ ...my, userId: '1' })).toMatch(/baseUrl: a preset needs baseUrl/);
    expect(messages({ ...my, driver: 'postgres', baseUrl: BASE, userId: '1' })).toMatch(
      /vtiger runs on MySQL\/MariaDB/,
    );
  });
});

describeWithServer('sql action: vtiger preset on MariaDB', mysqlDown, () => {
  let db: MysqlDatabase;
  const vtiger = (extra: Record<string, unknown> = {}) =>
    sqlAction({ driver: 'mysql', url: db.url(), preset: 'vtiger', baseUrl: BASE, userId: '1', ...extra });
  const entities = () =>
    db.rows(`SELECT crmid, smcreatorid, smownerid, modifiedby, setype, description, label, deleted, presence,
        createdtime IS NOT NULL AS created, modifiedtime IS NOT NULL AS modified
      FROM vtiger_crmentity WHERE setype = 'Calendar' ORDER BY crmid`);
  const activities = () =>
    db.rows(`SELECT activityid, subject, activitytype, CAST(date_start AS CHAR) AS date_start, time_start,
        CAST(due_date AS CHAR) AS due_date, time_end, duration_hours, duration_minutes, eventstatus, status,
        visibility FROM vtiger_activity ORDER BY activityid`);
  const relations = () =>
    db.rows('SELECT contactid, activityid FROM vtiger_cntactivityrel ORDER BY activityid');
  const sequence = async () =>
    Number((await db.rows<{ id: number }>('SELECT id FROM vtiger_crmentity_seq'))[0]?.id);
  const markers = () => db.rows('SELECT delivery_id, crmid FROM callcard_deliveries ORDER BY crmid');

  beforeAll(async () => {
    db = await mysqlDatabase('cc_sqlvt');
    await db.exec(sqlFixture('vtiger'));
    await db.exec(sqlFixture('vtiger-calls'));
    await db.exec(
      `INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, setype, createdtime, modifiedtime, label)
         VALUES (5, 1, 1, 'Contacts', '2024-03-01 09:00:00', '2024-03-01 09:00:00', 'Alexa Holiday');
       INSERT INTO vtiger_contactdetails (contactid, contact_no, firstname, lastname, phone)
         VALUES (5, 'CON1', 'Alexa', 'Holiday', '+41 (0)21 552 20 00');`,
    );
  });
  afterAll(async () => {
    await closeActions();
    await db?.drop();
  });
  afterEach(async () => {
    await db.exec(`DROP TRIGGER IF EXISTS crash;
      DELETE FROM vtiger_cntactivityrel; DELETE FROM vtiger_activitycf;
      DELETE FROM vtiger_activity; DELETE FROM vtiger_crmentity WHERE setype = 'Calendar';
      DROP TABLE IF EXISTS callcard_deliveries; DELETE FROM vtiger_crmentity_seq;
      INSERT INTO vtiger_crmentity_seq (id) VALUES (${SEQ});`);
  });
  beforeAll(async () => {
    await db.exec(`INSERT INTO vtiger_crmentity_seq (id) VALUES (${SEQ})`);
  });

  it('logs a call as vtiger does: a Calendar record, a Call event, the contact related', async () => {
    const result = await run(vtiger(), payloadOf(CALL));
    const id = SEQ + 1;
    expect(result).toEqual({ id: String(id), url: recordUrl(id) });
    expect(await sequence()).toBe(id);
    const [entity, ...more] = await entities();
    expect(more).toEqual([]);
    expect(entity).toMatchObject({
      crmid: id,
      smcreatorid: 1,
      smownerid: 1,
      modifiedby: 1,
      setype: 'Calendar',
      label: 'Incoming call from Alexa Holiday',
      deleted: 0,
      presence: 1,
      created: 1,
      modified: 1,
    });
    expect(entity?.['description']).toContain('From: 41215522000 (Alexa Holiday)');
    expect(await activities()).toEqual([
      {
        activityid: id,
        subject: 'Incoming call from Alexa Holiday',
        activitytype: 'Call',
        date_start: '2026-11-26',
        time_start: '10:00:00',
        due_date: '2026-11-26',
        time_end: '10:02:05',
        duration_hours: '0',
        duration_minutes: '2',
        eventstatus: 'Held',
        status: null,
        visibility: 'Public',
      },
    ]);
    expect(await db.rows('SELECT activityid FROM vtiger_activitycf')).toEqual([{ activityid: id }]);
    expect(await relations()).toEqual([{ contactid: 5, activityid: id }]);
    expect(await markers()).toEqual([{ delivery_id: DELIVERY, crmid: id }]);
    // What the contact's Activities list reads.
    const history = await db.rows(
      `SELECT a.subject FROM vtiger_activity a
       JOIN vtiger_crmentity e ON e.crmid = a.activityid AND e.deleted = 0
       JOIN vtiger_cntactivityrel r ON r.activityid = a.activityid WHERE r.contactid = ?`,
      [Number(ALEXA)],
    );
    expect(history).toEqual([{ subject: 'Incoming call from Alexa Holiday' }]);
  });

  it('a delivery tried again, at once (two connections, two processes) or later, is one call', async () => {
    const payload = payloadOf(CALL);
    const one = vtiger();
    const two = vtiger();
    const answers = await Promise.all([one, two, one, two].map((action) => run(action, payload)));
    answers.push(await run(vtiger(), payload));
    const id = SEQ + 1;
    for (const answer of answers) expect(answer).toEqual({ id: String(id), url: recordUrl(id) });
    expect(await entities()).toHaveLength(1);
    expect(await activities()).toHaveLength(1);
    expect(await relations()).toHaveLength(1);
    expect(await sequence()).toBe(id);
    // Other deliveries (another action, other calls) at the same time are other records.
    const others = await Promise.all(
      [1, 2, 3].map((n) => run(n % 2 ? one : two, payload, `CallFlow:${CALL_ID}:${n}`)),
    );
    expect(new Set(others.map((a) => a.id)).size).toBe(3);
    expect(await entities()).toHaveLength(4);
    expect(await sequence()).toBe(SEQ + 4);
  });

  it('an update writes the call as it is now into the record logged before, and relates a contact found since', async () => {
    const action = vtiger();
    expect(action.updates).toBe(true);
    const logged = await run(action, payloadOf(missed(CALL), null));
    const id = SEQ + 1;
    expect(logged).toEqual({ id: String(id), url: recordUrl(id) });
    expect(await relations()).toEqual([]);
    const answer = await action.run(payloadOf(CALL), {
      signal: new AbortController().signal,
      deliveryId: `${DELIVERY}:update:1`,
      attempt: 1,
      update: { of: DELIVERY, made: true, id: String(id), url: recordUrl(id) },
    });
    expect(answer).toEqual({ id: String(id), url: recordUrl(id) });
    // No new record: the same one, as the call is now.
    expect(await sequence()).toBe(id);
    expect(await entities()).toEqual([
      expect.objectContaining({ crmid: id, label: 'Incoming call from Alexa Holiday' }),
    ]);
    expect(await activities()).toEqual([
      expect.objectContaining({
        activityid: id,
        subject: 'Incoming call from Alexa Holiday',
        time_end: '10:02:05',
        duration_minutes: '2',
        eventstatus: 'Held',
      }),
    ]);
    expect(await relations()).toEqual([{ contactid: 5, activityid: id }]);
    // Made again (a retry after a crash): the same rows.
    await action.run(payloadOf(CALL), {
      signal: new AbortController().signal,
      deliveryId: `${DELIVERY}:update:1`,
      attempt: 2,
      update: { of: DELIVERY, made: true, id: String(id) },
    });
    expect(await relations()).toEqual([{ contactid: 5, activityid: id }]);
    expect(await markers()).toEqual([{ delivery_id: DELIVERY, crmid: id }]);
  });

  it("a missed call is 'Not Held', without duration", async () => {
    await run(vtiger(), payloadOf(missed(CALL)));
    expect(await activities()).toEqual([
      expect.objectContaining({
        subject: 'Missed call from Alexa Holiday',
        eventstatus: 'Not Held',
        duration_hours: '0',
        duration_minutes: '0',
        time_start: '10:00:00',
        time_end: '10:00:30',
      }),
    ]);
    expect(await relations()).toHaveLength(1);
  });

  it('a call without a contact (or one vtiger lacks) is related to none; owned by userId', async () => {
    const action = vtiger({ userId: '7' });
    await run(action, payloadOf(outgoing(CALL), null));
    await run(action, payloadOf(outgoing(CALL), { ...CONTACT, id: '999' }), `CallFlow:${CALL_ID}:1`);
    expect(await entities()).toEqual([
      expect.objectContaining({ smownerid: 7, smcreatorid: 7, label: 'Outgoing call to 41790000000' }),
      expect.objectContaining({ smownerid: 7 }),
    ]);
    expect(await relations()).toEqual([]);
  });

  it('a crash mid-way leaves nothing, not even the sequence step; a retry logs once', async () => {
    // Fails after the sequence's update and the crmentity row, as a lost server would.
    await db.exec(`CREATE TRIGGER crash BEFORE INSERT ON vtiger_activity FOR EACH ROW
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'crash'`);
    const action = vtiger();
    const error = await failure(run(action, payloadOf(CALL)));
    expect(error.permanent).toBe(false);
    expect(await sequence()).toBe(SEQ);
    expect(await db.rows('SELECT crmid FROM vtiger_crmentity WHERE crmid > ?', [SEQ])).toEqual([]);
    expect(await markers()).toEqual([]);

    await db.exec('DROP TRIGGER crash');
    const result = await run(action, payloadOf(CALL));
    expect(result).toEqual({ id: String(SEQ + 1), url: recordUrl(SEQ + 1) });
    expect(await run(action, payloadOf(CALL))).toEqual(result);
    expect(await entities()).toHaveLength(1);
    expect(await activities()).toHaveLength(1);
    expect(await relations()).toHaveLength(1);
    expect(await sequence()).toBe(SEQ + 1);
  });
});
