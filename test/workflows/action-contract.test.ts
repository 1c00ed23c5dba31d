/**
 * The action contract (action-contract.ts) run against every workflow action: webhook and rest
 * against a CRM's HTTP API of the test's own, sql on SQLite, PostgreSQL and MariaDB, and the
 * SuiteCRM and vtiger presets on MariaDB. Service-backed ones are skipped without their server
 * (a failure under CI).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createRestAction, restActionSchema } from '../../src/workflows/actions/rest.js';
import { createSqlAction, sqlActionSchema } from '../../src/workflows/actions/sql.js';
import type { Action } from '../../src/workflows/actions/types.js';
import { createWebhookAction, webhookActionSchema } from '../../src/workflows/actions/webhook.js';
import { tempDir } from '../support/helper.js';
import {
  describeWithServer,
  mysqlDatabase,
  mysqlUnavailable,
  pgSchema,
  pgUnavailable,
  sqlFixture,
} from '../support/sql.js';
import { suiteCrmDatabase } from '../support/workflows.js';
import { type ActionTarget, actionContract, fakeCrm } from './action-contract.js';

const [mysqlDown, pgDown] = await Promise.all([mysqlUnavailable(), pgUnavailable()]);

// ---- HTTP actions ------------------------------------------------------------------------------

/** An HTTP action at `base` + `path`, authenticated by OAuth2 client credentials. */
type HttpMaker = (base: string, path: string, timeoutMs?: number) => Action;

async function httpTarget(make: HttpMaker): Promise<ActionTarget> {
  const crm = await fakeCrm();
  return {
    action: make(crm.url, '/records'),
    records: async () => crm.records(),
    at: (port, timeoutMs) => make(`http://127.0.0.1:${port}`, '/records', timeoutMs),
    refused: async () => make(crm.url, '/refuse'),
    redirect: async () => make(crm.url, '/moved'),
    async renewal() {
      const action = make(crm.url, '/records');
      // A token is given, then revoked by the CRM: the next request gets a 401.
      await action.run(
        { workflow: 'CallFlow', callId: 'warm', call: {}, contact: null },
        {
          signal: new AbortController().signal,
          deliveryId: 'CallFlow:warm:0',
          attempt: 1,
        },
      );
      const before = crm.tokens();
      crm.revoke();
      return { action, renewals: () => crm.tokens() - before };
    },
    teardown: () => crm.close(),
  };
}

const oauth = (base: string) => ({
  type: 'oauth2',
  tokenUrl: `${base}/token`,
  clientId: 'callcard',
  clientSecret: 'client-secret-1',
});

actionContract('webhook', () =>
  httpTarget((base, path, timeoutMs = 10_000) =>
    createWebhookAction(
      webhookActionSchema.parse({
        type: 'webhook',
        url: `${base}${path}`,
        auth: oauth(base),
        response: { id: 'id' },
        timeoutMs,
      }),
      { baseDir: process.cwd() },
    ),
  ),
);

actionContract('rest', () =>
  httpTarget((base, path, timeoutMs = 10_000) =>
    createRestAction(
      restActionSchema.parse({
        type: 'rest',
        timeoutMs,
        baseUrl: base,
        auth: oauth(base),
        request: { method: 'POST', url: path, body: { call: '{callId}', from: '{call.originatorNumber}' } },
        update: false,
      }),
      { baseDir: process.cwd() },
    ),
  ),
);

// ---- sql actions -------------------------------------------------------------------------------

const sqlAction = (config: Record<string, unknown>) =>
  createSqlAction(sqlActionSchema.parse({ type: 'sql', ...config }), { baseDir: process.cwd() });

const HTTP_ONLY = {
  'a 401 renews the credentials once and the delivery is made':
    'a database login has no credentials to renew: a refused login is a failed attempt, tried again later',
  'a redirect is a permanent error with its reason, not followed': 'databases do not redirect',
} as const;

actionContract(
  'sql on SQLite',
  async () => {
    const dir = tempDir();
    const file = join(dir.path, 'crm.db');
    const db = new Database(file);
    db.exec('CREATE TABLE call_log (id TEXT PRIMARY KEY, delivery TEXT NOT NULL)');
    db.close();
    const insert =
      'INSERT INTO call_log (id, delivery) VALUES (:recordId, :deliveryId) ON CONFLICT DO NOTHING';
    return {
      action: sqlAction({ driver: 'sqlite', file, query: insert }),
      records: async () => {
        const reader = new Database(file, { readonly: true });
        try {
          return (reader.prepare('SELECT count(*) AS n FROM call_log').get() as { n: number }).n;
        } finally {
          reader.close();
        }
      },
      down: () =>
        sqlAction({ driver: 'sqlite', file: join(dir.path, 'no-such-folder', 'crm.db'), query: insert }),
      refused: async () =>
        sqlAction({
          driver: 'sqlite',
          file,
          query: 'INSERT INTO call_log (id, delivery) VALUES (:recordId, NULL)',
        }),
      teardown: async () => dir.remove(),
    };
  },
  {
    skip: {
      ...HTTP_ONLY,
      'a cancelled attempt ends with its reason':
        'SQLite writes in-process and synchronously: a statement cannot be cut off once started, and there is no server to wait for',
      'a target that does not answer in time gives a retryable error':
        'an SQLite file has no server that could fail to answer; a locked file is waited for up to its busy timeout',
    },
  },
);

describeWithServer('action contract on PostgreSQL', pgDown, () => {
  actionContract(
    'sql on PostgreSQL',
    async () => {
      const schema = await pgSchema('cc_contract');
      await schema.exec(
        `CREATE TABLE "${schema.name}".call_log (id uuid PRIMARY KEY, delivery text NOT NULL)`,
      );
      const query = (value: string) =>
        `INSERT INTO "${schema.name}".call_log (id, delivery) VALUES (:recordId, ${value}) ON CONFLICT DO NOTHING`;
      const url = (port?: number) => schema.url(port);
      return {
        action: sqlAction({ driver: 'postgres', url: url(), query: query(':deliveryId') }),
        records: async () =>
          Number(
            (await schema.rows<{ n: string }>(`SELECT count(*) AS n FROM "${schema.name}".call_log`))[0]!.n,
          ),
        at: (port, timeoutMs) =>
          sqlAction({ driver: 'postgres', url: url(port), query: query(':deliveryId'), timeoutMs }),
        refused: async () => sqlAction({ driver: 'postgres', url: url(), query: query('NULL') }),
        teardown: () => schema.drop(),
      };
    },
    { skip: HTTP_ONLY },
  );
});

describeWithServer('action contract on MariaDB', mysqlDown, () => {
  actionContract(
    'sql on MariaDB',
    async () => {
      const db = await mysqlDatabase('cc_contract');
      await db.exec('CREATE TABLE call_log (id CHAR(36) PRIMARY KEY, delivery VARCHAR(100) NOT NULL)');
      const query = (value: string) =>
        `INSERT IGNORE INTO call_log (id, delivery) VALUES (:recordId, ${value})`;
      return {
        action: sqlAction({ driver: 'mysql', url: db.url(), query: query(':deliveryId') }),
        records: async () =>
          Number((await db.rows<{ n: number }>('SELECT count(*) AS n FROM call_log'))[0]!.n),
        at: (port, timeoutMs) =>
          sqlAction({ driver: 'mysql', url: db.url(port), query: query(':deliveryId'), timeoutMs }),
        // INSERT IGNORE would turn the violation into a warning: the refusing statement is a plain INSERT.
        refused: async () =>
          sqlAction({
            driver: 'mysql',
            url: db.url(),
            query: 'INSERT INTO call_log (id, delivery) VALUES (:recordId, NULL)',
          }),
        teardown: () => db.drop(),
      };
    },
    { skip: HTTP_ONLY },
  );

  const BASE = 'https://crm.example.ch/crm/';

  actionContract(
    'sql SuiteCRM preset',
    async () => {
      const db = await suiteCrmDatabase('cc_contract_suite');
      const suite = (url: string, timeoutMs?: number) =>
        sqlAction({ driver: 'mysql', url, preset: 'suitecrm', baseUrl: BASE, timeoutMs });
      return {
        action: suite(db.url()),
        records: async () => Number((await db.rows<{ n: number }>('SELECT count(*) AS n FROM calls'))[0]!.n),
        at: (port, timeoutMs) => suite(db.url(port), timeoutMs),
        async refused() {
          // A Call's name too long for its column: strict mode refuses the row.
          await db.exec('ALTER TABLE calls MODIFY name VARCHAR(3)');
          return suite(db.url());
        },
        teardown: () => db.drop(),
      };
    },
    { skip: HTTP_ONLY },
  );

  actionContract(
    'sql vtiger preset',
    async () => {
      const db = await mysqlDatabase('cc_contract_vt');
      await db.exec(sqlFixture('vtiger'));
      await db.exec(sqlFixture('vtiger-calls'));
      await db.exec('INSERT INTO vtiger_crmentity_seq (id) VALUES (100)');
      const vtiger = (url: string, timeoutMs?: number) =>
        sqlAction({ driver: 'mysql', url, preset: 'vtiger', baseUrl: BASE, userId: '1', timeoutMs });
      return {
        action: vtiger(db.url()),
        records: async () =>
          Number(
            (
              await db.rows<{ n: number }>(
                "SELECT count(*) AS n FROM vtiger_crmentity WHERE setype = 'Calendar'",
              )
            )[0]!.n,
          ),
        at: (port, timeoutMs) => vtiger(db.url(port), timeoutMs),
        async refused() {
          // An event's subject too long for its column: strict mode refuses the row (and the transaction).
          await db.exec('ALTER TABLE vtiger_activity MODIFY subject VARCHAR(3)');
          return vtiger(db.url());
        },
        teardown: () => db.drop(),
      };
    },
    { skip: HTTP_ONLY },
  );
});
