/**
 * `callcard store migrate`: an embedded data directory into a PostgreSQL schema and back, run in
 * this process as the binary runs it. What each store then answers through the store interface
 * (contacts of every source, sync state, journal, outbox, OAuth connections, the console's accounts,
 * sessions and audit log, the generated token and key) is compared, after one run, a second one, a run cut off half-way and run again, and the way
 * back. Needs the machine's PostgreSQL (a schema of the test's own): skipped with a message without
 * it, a failure under CI.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { copyStore } from '../../src/store/copy.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { adminQuery } from '../store/support.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';

const unavailable = await pgUnavailable();

const KEYS = ['+41215522001', '+41215522002', '+41445556677'];
const SOURCES = ['contacts', 'crm'];

/** Everything a store answers about its data, in a form to compare. */
async function snapshot(store: Store) {
  // A secret not copied would be made now, with this value.
  const never = () => 'not copied';
  return {
    counts: await Promise.all(SOURCES.map((source) => store.contacts.count(source))),
    found: await Promise.all(
      SOURCES.flatMap((source) => KEYS.map((key) => store.contacts.findByKey(source, key, 10))),
    ),
    syncState: await Promise.all(SOURCES.map((source) => store.contacts.syncState(source))),
    calls: (await store.calls.list({ limit: 100 })).calls,
    answered: await store.calls.answer('call-1', 'not-kept'),
    deliveries: await store.outbox.list({}),
    connection: await store.credentials.read('hubspot'),
    accounts: await store.admin.accounts(),
    sessions: await Promise.all(['session-1', 'session-2'].map((hash) => store.admin.session(hash))),
    audit: await store.admin.auditLog({ limit: 100 }),
    secrets: [
      (await store.secrets.ensure('token', never)).value,
      (await store.secrets.ensure('secret', never)).value,
    ],
  };
}

/** An embedded store with some of everything. */
async function fill(store: Store): Promise<void> {
  const contacts = await store.contacts.beginImport('contacts', { replace: true });
  await contacts.write([
    { id: 'a', name: 'Alexa Holiday', phones: [{ key: KEYS[0]!, raw: '021 552 20 01', label: 'work' }] },
    {
      id: 'b',
      name: 'Ben Meier',
      company: 'Meier AG',
      customData: { tier: 'gold' },
      phones: [
        { key: KEYS[1]!, raw: '021 552 20 02' },
        { key: KEYS[2]!, raw: '044 555 66 77' },
      ],
      updatedAt: 1_700_000_000_000,
    },
  ]);
  await contacts.commit();
  const crm = await store.contacts.beginImport('crm', { replace: true });
  await crm.write([{ id: 'x1', name: 'CRM Contact', phones: [{ key: KEYS[2]!, raw: '+41 44 555 66 77' }] }]);
  await crm.commit();
  await store.contacts.saveSyncState('crm', {
    attemptedAt: 5,
    succeededAt: 5,
    fullAt: 5,
    cursor: 4,
    written: 1,
  });
  for (const [n, status] of [
    [1, 'answered'],
    [2, 'missed'],
  ] as const) {
    await store.calls.record({
      id: `call-${n}`,
      workflow: 'CallFlow',
      status,
      direction: 'incoming',
      originatorNumber: '41215522001',
      startedTime: `2026-11-26T10:0${n}:00Z`,
      inputs: { originatorNumber: '41215522001', n },
    });
  }
  await store.calls.answer('call-1', 'T-1');
  const delivery = (id: string, orderKey: string) => ({
    id,
    workflow: 'CallFlow',
    callId: 'call-1',
    action: 0,
    actionType: 'webhook',
    orderKey,
    payload: { call: { id } },
    maxAttempts: 3,
  });
  await store.outbox.enqueue([delivery('d1', 'k'), delivery('d2', 'k'), delivery('d3', 'other')], 1000);
  const [claimed] = await store.outbox.claim('w', 1000, 60_000, 1);
  await store.outbox.complete(claimed!.id, 'w', { id: 'r1', url: 'https://crm.example/r1' }, 2000);
  await store.credentials.save('hubspot', 'sealed-tokens');
  const account = { passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA', passwordAt: 10, createdAt: 10 };
  await store.admin.addAccount({
    ...account,
    name: 'owner',
    role: 'tenant',
    tenant: 'acme',
    mustChange: false,
  });
  await store.admin.addAccount({
    ...account,
    name: 'viewer',
    role: 'read-only',
    tenant: 'acme',
    mustChange: true,
  });
  await store.admin.addAccount({ ...account, name: 'partner', role: 'partner', mustChange: false });
  await store.admin.openSession({ idHash: 'session-1', account: 'owner', createdAt: 20, seenAt: 30 });
  await store.admin.openSession({ idHash: 'session-2', account: 'partner', createdAt: 21, seenAt: 31 });
  await store.admin.audit({ at: 20, actor: 'owner', action: 'sign-in', address: '203.0.113.7' });
  await store.admin.audit({ at: 25, actor: '-', action: 'sign-in-failed' });
  await store.admin.audit({ at: 40, actor: 'owner', action: 'delivery-retry', subject: 'd2' });
  await store.secrets.ensure('token', () => 'the-generated-token-0123456789ab');
  await store.secrets.ensure('secret', () => 'the-generated-key');
}

describeWithServer('callcard store migrate', unavailable, () => {
  let dir: ReturnType<typeof tempDir>;
  let back: ReturnType<typeof tempDir>;
  let schema: string;
  const opened: Store[] = [];
  const open = async (store: Store | Promise<Store>) => {
    const one = await store;
    opened.push(one);
    return one;
  };

  beforeEach(async () => {
    dir = tempDir('callcard-migrate-');
    back = tempDir('callcard-back-');
    schema = uniqueName('cc_migrate');
    const embedded = openSqliteStore(dir.path);
    await fill(embedded);
    await embedded.close();
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    dir.remove();
    back.remove();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  const migrate = (from: string, to: string) =>
    runCli(['store', 'migrate', '--from', from, '--to', to, '--schema', schema]);

  it('copies a data directory into PostgreSQL; run twice, the same; and back again', async () => {
    const expected = await snapshot(await open(openSqliteStore(dir.path)));
    expect(expected.deliveries.map((d) => `${d.id}:${d.status}`)).toEqual([
      'd1:done',
      'd2:pending',
      'd3:pending',
    ]);
    expect(expected.accounts.map((account) => account.name)).toEqual(['owner', 'partner', 'viewer']);
    expect(expected.sessions.map((session) => session?.account)).toEqual(['owner', 'partner']);
    expect(expected.audit.entries).toHaveLength(3);

    const first = await migrate(dir.path, pgUrl());
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/contacts\s+3/);
    expect(first.stdout).toMatch(/accounts\s+3/);
    expect(first.stdout).toMatch(/audit\s+3/);
    expect(first.stdout).toContain('secrets copied: token, secret');
    expect(first.stdout).not.toContain('the-generated-token');
    const shared = await open(openPostgresStore({ url: pgUrl(), schema }));
    expect(await snapshot(shared)).toEqual(expected);

    expect((await migrate(dir.path, pgUrl())).code).toBe(0);
    expect(await snapshot(shared)).toEqual(expected);

    // The store goes on from the copy: new rows take numbers after the copied ones.
    await shared.outbox.enqueue(
      [
        {
          id: 'd4',
          workflow: 'CallFlow',
          callId: 'c',
          action: 0,
          actionType: 'webhook',
          orderKey: 'k',
          payload: {},
          maxAttempts: 1,
        },
      ],
      3000,
    );
    expect((await shared.outbox.list({})).map((d) => d.id)).toEqual(['d1', 'd2', 'd3', 'd4']);
    const more = await shared.contacts.beginImport('other', { replace: false });
    await more.write([{ id: 'n', name: 'New', phones: [{ key: KEYS[0]!, raw: KEYS[0]! }] }]);
    await more.commit();
    expect((await shared.contacts.findByKey('other', KEYS[0]!, 5)).map((m) => m.id)).toEqual(['n']);
    await shared.admin.audit({ at: 50, actor: 'owner', action: 'sign-out' });
    expect((await shared.admin.auditLog({ limit: 10 })).entries.map((entry) => entry.seq)).toEqual([
      4, 3, 2, 1,
    ]);

    // Leaving: the schema into an empty data directory.
    const leaving = await runCli([
      'store',
      'migrate',
      '--from',
      pgUrl(),
      '--schema',
      schema,
      '--to',
      back.path,
    ]);
    expect(leaving.code).toBe(0);
    const copy = await open(openSqliteStore(back.path));
    expect(await snapshot(copy)).toEqual(await snapshot(shared));
  });

  it('a copy cut off half-way is completed by running it again', async () => {
    const expected = await snapshot(await open(openSqliteStore(dir.path)));
    await expect(
      copyStore(
        { dataDir: dir.path },
        { postgres: { url: pgUrl(), schema } },
        {
          onTable: (name) => {
            if (name === 'calls') throw new Error('cut off');
          },
        },
      ),
    ).rejects.toThrow('cut off');
    const shared = await open(openPostgresStore({ url: pgUrl(), schema }));
    expect((await shared.outbox.list({})).length).toBe(0);
    expect((await migrate(dir.path, pgUrl())).code).toBe(0);
    expect(await snapshot(shared)).toEqual(expected);
  });

  it('refuses two directories or two URLs, with a usage message', async () => {
    const both = await migrate(dir.path, back.path);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/give a data directory and a postgres:\/\/ URL/);
  });
});
