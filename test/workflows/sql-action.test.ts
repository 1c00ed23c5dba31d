/**
 * The sql action: a call logged in a database exactly once, however often its delivery is tried.
 * SuiteCRM's own tables (test/fixtures/sql/suitecrm-calls.sql) in the real MariaDB, a statement of
 * one's own in the real PostgreSQL and in SQLite; skipped without the servers, failing under CI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { recordUuid, sqlActionSchema } from '../../src/workflows/actions/sql.js';
import { docExample, tempDir } from '../support/helper.js';
import {
  describeWithServer,
  MY_PORT,
  type MysqlDatabase,
  mysqlUnavailable,
  PG_PORT,
  type PgSchema,
  pgSchema,
  pgUnavailable,
  relay,
} from '../support/sql.js';
import {
  SUITECRM_ALEXA as ALEXA,
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
  suiteCrmDatabase,
} from '../support/workflows.js';

const [mysqlDown, pgDown] = await Promise.all([mysqlUnavailable(), pgUnavailable()]);

const BASE = 'https://crm.example.ch/crm/';
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const CALL = callInputs({ contactCrmId: ALEXA, userCrmId: '1', destinationName: 'Support' });
const CONTACT = {
  id: ALEXA,
  name: 'Alexa Holiday',
  company: 'White Cross Co',
  source: 'crm',
  crmName: 'SuiteCRM',
};

/** The example of docs/workflows.md (the sql action). */
const DOC_EXAMPLE = docExample('docs/workflows.md', 'preset: suitecrm');

const payloadOf = payloads(CONTACT);

afterEach(closeActions);

describe('sql action: config and ids', () => {
  const parse = (config: Record<string, unknown>) => sqlActionSchema.safeParse({ type: 'sql', ...config });
  const messages = (config: Record<string, unknown>) =>
    (parse(config).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');

  it('refuses what cannot work, when the config is loaded', () => {
    const my = { driver: 'mysql', url: 'mysql://crm@db/crm' };
    expect(parse({ ...my, preset: 'suitecrm', baseUrl: BASE }).success).toBe(true);
    expect(messages({ ...my, preset: 'suitecrm' })).toMatch(/baseUrl: a preset needs baseUrl/);
    expect(
      messages({ driver: 'postgres', url: 'postgres://db/crm', preset: 'suitecrm', baseUrl: BASE }),
    ).toMatch(/driver: suitecrm runs on MySQL\/MariaDB/);
    expect(messages({ ...my })).toMatch(/query: give either preset or query/);
    expect(messages({ driver: 'mysql', preset: 'sugarcrm', baseUrl: BASE })).toMatch(/mysql needs a url/);
    expect(messages({ driver: 'sqlite', query: 'INSERT INTO t VALUES (:recordId)' })).toMatch(
      /sqlite needs a file/,
    );
    expect(messages({ ...my, query: 'INSERT INTO t (id, x) VALUES (:recordId, :nope)' })).toMatch(
      /query: unknown parameter :nope \(known: deliveryId, callId/,
    );
    expect(messages({ ...my, query: 'INSERT INTO t (at) VALUES (:startedAt)' })).toMatch(
      /:recordId or :deliveryId/,
    );
    expect(
      messages({ ...my, query: 'INSERT INTO t VALUES (:recordId)', recordUrl: 'https://crm/{recordId}/{x}' }),
    ).toMatch(/recordUrl: unknown placeholder \{x\}/);
  });

  it('reads the example of docs/workflows.md from YAML, and names the place of a mistake', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'callcard.yaml');
      writeFileSync(file, DOC_EXAMPLE);
      const config = loadConfig({ env: {}, file, overrides: { dataDir: dir.path } });
      const { workflows } = config.tenants[0]!;
      expect(workflows['CallFlow']?.actions).toEqual([
        expect.objectContaining({
          type: 'sql',
          driver: 'mysql',
          preset: 'suitecrm',
          userId: '1',
          maxAttempts: 12,
        }),
      ]);
      expect(workflows['Callback']?.actions).toEqual([
        expect.objectContaining({
          type: 'sql',
          driver: 'postgres',
          recordUrl: 'https://crm.example.com/calls/{recordId}',
        }),
      ]);
      writeFileSync(file, DOC_EXAMPLE.replace(':durationSeconds', ':duration'));
      expect(() => loadConfig({ env: {}, file, overrides: { dataDir: dir.path } })).toThrow(
        /workflows\.Callback\.actions\.0\.query: unknown parameter :duration \(known:/,
      );
    } finally {
      dir.remove();
    }
  });

  it('derives the record id from the delivery id: a UUID (version 5) in the 36 characters CRMs store', () => {
    // As Python's uuid.uuid5(UUID('6f1c2b9e-4d7a-4e0f-9b3c-8a5d2e1f0c7b'), name) computes it.
    expect(recordUuid(DELIVERY)).toBe('f7d7b2e6-e256-5041-8cbf-9b2323b67836');
    expect(recordUuid(DELIVERY)).toMatch(UUID_V5);
    expect(recordUuid(`CallFlow:${CALL_ID}:1`)).not.toBe(recordUuid(DELIVERY));
  });
});

describe('sql action: SQLite, a statement of ones own', () => {
  let dir: ReturnType<typeof tempDir>;
  let file: string;
  beforeAll(() => {
    dir = tempDir();
    file = join(dir.path, 'crm.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE call_log (id TEXT PRIMARY KEY, delivery TEXT NOT NULL, started_at TEXT NOT NULL,
      status TEXT, minutes INTEGER, contact_id TEXT, subject TEXT)`);
    db.close();
  });
  afterAll(() => dir.remove());

  const rows = () => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT * FROM call_log ORDER BY started_at').all();
    } finally {
      db.close();
    }
  };

  it('writes the row once, whatever the number of attempts, and answers the same record', async () => {
    const action = sqlAction(
      {
        driver: 'sqlite',
        file: 'crm.db',
        query: `INSERT INTO call_log (id, delivery, started_at, status, minutes, contact_id, subject)
          VALUES (:recordId, :deliveryId, :startedAt, :status, :durationMinutes, :contactId, :subject)
          ON CONFLICT (id) DO NOTHING`,
        recordUrl: 'https://crm.example/calls/{recordId}',
      },
      dir.path,
    );
    const payload = payloadOf(CALL);
    const first = await run(action, payload);
    const again = await run(action, payload);
    expect(first).toEqual({
      id: recordUuid(DELIVERY),
      url: `https://crm.example/calls/${recordUuid(DELIVERY)}`,
    });
    expect(again).toEqual(first);
    expect(rows()).toEqual([
      {
        id: recordUuid(DELIVERY),
        delivery: DELIVERY,
        started_at: '2026-11-26T10:00:00.000Z',
        status: 'answered',
        minutes: 2,
        contact_id: ALEXA,
        subject: 'Incoming call from Alexa Holiday',
      },
    ]);
  });

  it('a statement the database refuses (a constraint) fails for good, without the values', async () => {
    const action = sqlAction(
      {
        driver: 'sqlite',
        file: 'crm.db',
        query: 'INSERT INTO call_log (id, delivery) VALUES (:recordId, :deliveryId)',
      },
      dir.path,
    );
    const error = await failure(run(action, payloadOf(CALL), 'CallFlow:other:0'));
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(/^sql crm\.db: SQLITE_CONSTRAINT_NOTNULL/);
    expect(error.message).not.toContain('CallFlow:other');
  });
});

describeWithServer('sql action: SuiteCRM preset on MariaDB', mysqlDown, () => {
  let db: MysqlDatabase;
  const suite = (extra: Record<string, unknown> = {}) =>
    sqlAction({ driver: 'mysql', url: db.url(), preset: 'suitecrm', baseUrl: BASE, ...extra });
  const recordUrl = (id: string) =>
    `https://crm.example.ch/crm/index.php?module=Calls&action=DetailView&record=${id}`;
  const calls = () =>
    db.rows(`SELECT id, name, CAST(date_start AS CHAR) AS date_start, CAST(date_end AS CHAR) AS date_end,
        duration_hours, duration_minutes, status, direction, parent_type, parent_id, assigned_user_id, created_by,
        modified_user_id, deleted, description, date_entered IS NOT NULL AS entered, date_modified IS NOT NULL AS modified
      FROM calls ORDER BY date_start`);
  const links = () =>
    db.rows(`SELECT id, call_id, contact_id, required, accept_status, deleted, date_modified IS NOT NULL AS modified
      FROM calls_contacts ORDER BY call_id`);

  beforeAll(async () => {
    db = await suiteCrmDatabase('cc_sqlact');
  });
  afterAll(async () => {
    await closeActions();
    await db?.drop();
  });
  afterEach(async () => {
    await db.exec('DELETE FROM calls; DELETE FROM calls_contacts;');
  });

  it('logs a call with a contact as SuiteCRM does: a Call related to the contact, and the contact as participant', async () => {
    const result = await run(suite(), payloadOf(CALL));
    const id = recordUuid(DELIVERY);
    expect(result).toEqual({ id, url: recordUrl(id) });
    const [call, ...more] = await calls();
    expect(more).toEqual([]);
    expect(call).toMatchObject({
      id,
      name: 'Incoming call from Alexa Holiday',
      date_start: '2026-11-26 10:00:00',
      date_end: '2026-11-26 10:02:05',
      duration_hours: 0,
      duration_minutes: 2,
      status: 'Held',
      direction: 'Inbound',
      parent_type: 'Contacts',
      parent_id: ALEXA,
      assigned_user_id: '1',
      created_by: '1',
      modified_user_id: '1',
      deleted: 0,
      entered: 1,
      modified: 1,
    });
    expect(call?.['description']).toContain('From: 41215522000 (Alexa Holiday)');
    expect(call?.['description']).toContain('To: 41445556677 (Support)');
    expect(call?.['description']).toContain('duration 2:00');
    expect(await links()).toEqual([
      {
        id: recordUuid(`${DELIVERY}/contact`),
        call_id: id,
        contact_id: ALEXA,
        required: '1',
        accept_status: 'none',
        deleted: 0,
        modified: 1,
      },
    ]);
    // What the contact's History subpanel reads.
    const history = await db.rows(
      `SELECT c.name FROM calls c JOIN calls_contacts cc ON cc.call_id = c.id AND cc.deleted = 0
       WHERE cc.contact_id = ? AND c.deleted = 0`,
      [ALEXA],
    );
    expect(history).toEqual([{ name: 'Incoming call from Alexa Holiday' }]);
  });

  it('a delivery tried again, at once or after a crash (another process), is still one call and one link', async () => {
    const payload = payloadOf(CALL);
    const action = suite();
    const answers = await Promise.all([run(action, payload), run(action, payload)]);
    // A crash between the two inserts: the link is missing when the next attempt comes.
    await db.exec('DELETE FROM calls_contacts');
    answers.push(await run(suite(), payload));
    answers.push(await run(action, payload));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({ id: recordUuid(DELIVERY), url: recordUrl(recordUuid(DELIVERY)) });
    expect(await calls()).toHaveLength(1);
    expect(await links()).toHaveLength(1);
    // Another action of the workflow (or another call) is another record.
    await run(action, payload, `CallFlow:${CALL_ID}:1`);
    expect(await calls()).toHaveLength(2);
  });

  it("a missed call is 'Not Held', without duration", async () => {
    await run(suite(), payloadOf(missed(CALL)));
    expect(await calls()).toEqual([
      expect.objectContaining({
        name: 'Missed call from Alexa Holiday',
        status: 'Not Held',
        direction: 'Inbound',
        duration_hours: 0,
        duration_minutes: 0,
        date_start: '2026-11-26 10:00:00',
        date_end: '2026-11-26 10:00:30',
      }),
    ]);
    expect(await links()).toHaveLength(1);
  });

  it('a call without a contact is not related to one; without a user it goes to the configured one', async () => {
    await run(
      suite({ userId: 'integration-user' }),
      payloadOf({ ...outgoing(CALL), contactCrmId: '' }, null),
    );
    expect(await calls()).toEqual([
      expect.objectContaining({
        name: 'Outgoing call to 41790000000',
        direction: 'Outbound',
        status: 'Held',
        parent_type: null,
        parent_id: null,
        assigned_user_id: 'integration-user',
      }),
    ]);
    expect(await links()).toEqual([]);
  });

  it("links only a contact of contactSource: another source's ids are not the CRM's", async () => {
    await run(suite({ contactSource: 'suitecrm' }), payloadOf(CALL, { ...CONTACT, source: 'csv' }));
    expect(await calls()).toEqual([
      expect.objectContaining({ parent_id: null, name: 'Incoming call from 41215522000' }),
    ]);
    expect(await links()).toEqual([]);
  });

  it('a server that cannot be reached is tried again; the message holds neither password nor call', async () => {
    process.env['CC_TEST_SQL_ACTION_PASSWORD'] = 'pa55-w0rd';
    const gone = await relay(MY_PORT);
    await gone.close();
    const url = db.url(gone.port);
    const action = suite({ url, passwordEnv: 'CC_TEST_SQL_ACTION_PASSWORD', timeoutMs: 3000 });
    const error = await failure(run(action, payloadOf(CALL)));
    expect(error.permanent).toBe(false);
    expect(error.message).toMatch(/^sql mysql 127\.0\.0\.1:\d+: .*(ECONNREFUSED|connect)/);
    for (const secret of ['pa55-w0rd', 'Alexa', '41215522000']) expect(error.message).not.toContain(secret);
  });

  it('a statement the server refuses (no such table, a duplicate key) fails for good, without the values', async () => {
    const custom = (query: string) => sqlAction({ driver: 'mysql', url: db.url(), query });
    const missing = await failure(run(custom('INSERT INTO nope (id) VALUES (:recordId)'), payloadOf(CALL)));
    expect(missing.permanent).toBe(true);
    expect(missing.message).toMatch(/ER_NO_SUCH_TABLE 42S02/);

    const plain = custom('INSERT INTO calls (id, name) VALUES (:recordId, :subject)');
    await run(plain, payloadOf(CALL));
    const duplicate = await failure(run(plain, payloadOf(CALL)));
    expect(duplicate.permanent).toBe(true);
    expect(duplicate.message).toMatch(/ER_DUP_ENTRY 23000 Duplicate entry '…'/);
    expect(duplicate.message).not.toContain(recordUuid(DELIVERY));
  });
});

describeWithServer('sql action: a statement of ones own on PostgreSQL', pgDown, () => {
  let schema: PgSchema;
  beforeAll(async () => {
    schema = await pgSchema('cc_sqlact');
    await schema.exec(`CREATE TABLE "${schema.name}".call_log (
      id uuid PRIMARY KEY, delivery_id text NOT NULL, started_at timestamptz NOT NULL, ended_at timestamptz NOT NULL,
      direction text, status text NOT NULL, seconds integer NOT NULL, contact_id text, assigned_to text, subject text)`);
  });
  afterAll(async () => {
    await closeActions();
    await schema?.drop();
  });

  it('ON CONFLICT DO NOTHING: one row for any number of attempts, the same record answered', async () => {
    const table = `"${schema.name}".call_log`;
    const config = {
      driver: 'postgres',
      url: schema.url(),
      query: `INSERT INTO ${table} (id, delivery_id, started_at, ended_at, direction, status, seconds, contact_id,
          assigned_to, subject)
        VALUES (:recordId, :deliveryId, :startedAt, :endedAt, :direction, :status, :durationSeconds, :contactId,
          :userId, :subject)
        ON CONFLICT (id) DO NOTHING`,
      recordUrl: 'https://crm.example/calls/{recordId}?from={callId}',
    };
    const payload = payloadOf(CALL);
    const action = sqlAction(config);
    const answers = await Promise.all([run(action, payload), run(action, payload)]);
    answers.push(await run(sqlAction(config), payload));
    const id = recordUuid(DELIVERY);
    for (const answer of answers)
      expect(answer).toEqual({ id, url: `https://crm.example/calls/${id}?from=${CALL_ID}` });
    const rows = await schema.rows(`SELECT * FROM ${table}`);
    expect(rows).toEqual([
      {
        id,
        delivery_id: DELIVERY,
        started_at: new Date(Date.UTC(2026, 10, 26, 10, 0, 0)),
        ended_at: new Date(Date.UTC(2026, 10, 26, 10, 2, 5)),
        direction: 'incoming',
        status: 'answered',
        seconds: 120,
        contact_id: ALEXA,
        assigned_to: '1',
        subject: 'Incoming call from Alexa Holiday',
      },
    ]);
  });

  it('update: the statements of its own update the row logged before, keyed on the first delivery', async () => {
    const table = `"${schema.name}".call_log`;
    const config = {
      driver: 'postgres',
      url: schema.url(),
      query: `INSERT INTO ${table} (id, delivery_id, started_at, ended_at, direction, status, seconds, contact_id,
          assigned_to, subject)
        VALUES (:recordId, :deliveryId, :startedAt, :endedAt, :direction, :status, :durationSeconds, :contactId,
          :userId, :subject)
        ON CONFLICT (id) DO NOTHING`,
      update: `UPDATE ${table} SET ended_at = :endedAt, status = :status, seconds = :durationSeconds,
          subject = :subject WHERE id = :recordId`,
    };
    const action = sqlAction(config);
    expect(action.updates).toBe(true);
    expect(sqlAction({ ...config, update: undefined }).updates).toBe(false);
    const first = 'CallFlow:updated-call:0';
    await run(action, payloadOf(missed(CALL)), first);
    const update = { of: first, made: true, id: recordUuid(first) };
    const answer = await action.run(payloadOf(CALL), {
      signal: new AbortController().signal,
      deliveryId: `${first}:update:1`,
      attempt: 1,
      update,
    });
    expect(answer).toEqual({ id: recordUuid(first) });
    expect(
      await schema.rows(`SELECT delivery_id, status, seconds, subject FROM ${table} WHERE id = $1`, [
        recordUuid(first),
      ]),
    ).toEqual([
      { delivery_id: first, status: 'answered', seconds: 120, subject: 'Incoming call from Alexa Holiday' },
    ]);
    // An update of a delivery that was never made has nothing to change.
    const nothing = await failure(
      action.run(payloadOf(CALL), {
        signal: new AbortController().signal,
        deliveryId: 'CallFlow:other:0:update:1',
        attempt: 1,
        update: { of: 'CallFlow:other:0', made: false },
      }),
    );
    expect(nothing.permanent).toBe(true);
    expect(nothing.message).toMatch(
      /nothing to update, the first delivery \(CallFlow:other:0\) was not made/,
    );
  });

  it('a NOT NULL column left empty fails for good; a server that is down is tried again', async () => {
    const table = `"${schema.name}".call_log`;
    const refused = await failure(
      run(
        sqlAction({
          driver: 'postgres',
          url: schema.url(),
          query: `INSERT INTO ${table} (id, delivery_id, started_at, ended_at, status, seconds)
            VALUES (:recordId, :deliveryId, :startedAt, :endedAt, :status, :answeredAt)`,
        }),
        payloadOf({ ...CALL, answeredTime: '' }),
        'CallFlow:missed:0',
      ),
    );
    expect(refused.permanent).toBe(true);
    expect(refused.message).toMatch(/23502/);

    const gone = await relay(PG_PORT);
    await gone.close();
    const down = await failure(
      run(
        sqlAction({
          driver: 'postgres',
          url: schema.url(gone.port),
          query: `INSERT INTO ${table} (id) VALUES (:recordId)`,
        }),
        payloadOf(CALL),
      ),
    );
    expect(down.permanent).toBe(false);
    expect(down.message).toMatch(/^sql postgres 127\.0\.0\.1:\d+: /);
  });
});
