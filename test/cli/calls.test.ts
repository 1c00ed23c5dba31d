import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NewDelivery } from '../../src/store/outbox-types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewCallRecord } from '../../src/store/types.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/helper.js';

const DAY = 86_400_000;

function call(id: string, fields: Partial<NewCallRecord> = {}): NewCallRecord {
  return {
    id,
    workflow: 'CallFlow',
    direction: 'incoming',
    status: 'answered',
    originatorNumber: '41215522000',
    originatorName: 'Alexa Holiday',
    destinationNumber: '41445556677',
    destinationName: 'Reception',
    contactCrmId: 'c1',
    startedTime: '2026-11-26T10:00:00Z',
    answeredTime: '2026-11-26T10:00:07Z',
    endedTime: '2026-11-26T10:03:07Z',
    durationSeconds: 180,
    inputs: {},
    ...fields,
  };
}

describe('callcard calls and outbox', () => {
  let dir: ReturnType<typeof tempDir>;
  let dataDir: string;
  // Dates are read and shown in UTC, as the commands would with TZ=UTC.
  const zone = process.env['TZ'];
  beforeAll(() => {
    process.env['TZ'] = 'UTC';
  });
  afterAll(() => {
    if (zone === undefined) delete process.env['TZ'];
    else process.env['TZ'] = zone;
  });
  const callcard = (args: string[]) =>
    runCli(args, { env: { CALLCARD_DATA_DIR: dataDir, TZ: 'UTC' }, cwd: dir.path });
  const seed = async (use: (store: ReturnType<typeof openSqliteStore>) => Promise<unknown>) => {
    const store = openSqliteStore(dataDir);
    try {
      await use(store);
    } finally {
      await store.close();
    }
  };

  beforeEach(async () => {
    dir = tempDir();
    dataDir = join(dir.path, 'data');
    await seed(async (store) => {
      await store.calls.record(call('call-a'));
      await store.calls.record(
        call('call-b', {
          direction: 'outgoing',
          status: 'missed',
          originatorNumber: '2001',
          originatorName: 'Desk 1',
          destinationNumber: '0041 21 552 20 00',
          destinationName: 'Keller, "Käthi"\nHead office',
          startedTime: '2026-11-27T09:00:00+01:00',
          answeredTime: undefined,
          endedTime: undefined,
          durationSeconds: undefined,
        }),
      );
      await store.calls.record(
        call('call-c', {
          originatorNumber: '41791234567',
          contactCrmId: 'c2',
          startedTime: '2026-11-28T10:00:00Z',
        }),
      );
    });
  });
  afterEach(() => dir.remove());

  it('lists the journal newest first, numbers masked unless --show-numbers', async () => {
    const { code, stdout } = await callcard(['calls']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+WORKFLOW\s+DIRECTION\s+STATUS\s+FROM\s+TO\s+CONTACT\s+DURATION\s+ID$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).at(-1))).toEqual(['call-c', 'call-b', 'call-a']);
    expect(lines[3]).toMatch(
      /^2026-11-26T10:00:00Z\s+CallFlow\s+incoming\s+answered\s+\+41 21 \*\*\* \*\* 00 \(Alexa Holiday\)\s+\+41 44 \*\*\* \*\* 77 \(Reception\)\s+c1\s+3:00\s+call-a$/,
    );
    expect(stdout).not.toMatch(/5522000|5556677|1234567/);
    // A name's line break does not break the table.
    expect(lines).toHaveLength(4);

    const shown = await callcard(['calls', '--show-numbers']);
    expect(shown.stdout).toContain('41215522000 (Alexa Holiday)');
    expect(shown.stdout).toContain('0041 21 552 20 00');
  });

  it('shows which workflow each row is: one call posted to two workflows is two rows', async () => {
    await seed((store) => store.calls.record(call('call-t', { workflow: 'CreateTicket' })));
    const { code, stdout } = await callcard(['calls', '--contact', 'c1', '--status', 'answered']);
    expect(code).toBe(0);
    const rows = stdout.trim().split('\n').slice(1);
    expect(rows.map((row) => `${row.split(/\s+/)[1]} ${row.split(/\s+/).at(-1)}`).sort()).toEqual([
      'CallFlow call-a',
      'CreateTicket call-t',
    ]);
  });

  it('filters by number in any form, direction, status, contact and dates', async () => {
    const ids = async (...args: string[]) => {
      const { code, stdout, stderr } = await callcard(['calls', ...args]);
      expect(code, stderr).toBe(0);
      return stdout.trim() === 'no calls'
        ? []
        : stdout
            .trim()
            .split('\n')
            .slice(1)
            .map((line) => line.split(/\s+/).at(-1));
    };
    expect(await ids('--number', '021 552 20 00')).toEqual(['call-b', 'call-a']);
    expect(await ids('--number', '+41 79 123 45 67', '--contact', 'c2')).toEqual(['call-c']);
    expect(await ids('--direction', 'outgoing')).toEqual(['call-b']);
    expect(await ids('--status', 'answered', '--contact', 'c1')).toEqual(['call-a']);
    // 09:00+01:00 is 08:00 UTC on the 27th; a date alone is the whole day.
    expect(await ids('--from', '2026-11-27', '--to', '2026-11-27')).toEqual(['call-b']);
    expect(await ids('--from', '2026-11-27T08:00:00Z')).toEqual(['call-c', 'call-b']);
    expect(await ids('--to', '2026-11-27T07:59:59Z')).toEqual(['call-a']);
    expect(await ids('--number', '2002')).toEqual([]);
    const limited = await callcard(['calls', '--limit', '1']);
    expect(limited.stdout.trim().split('\n')).toHaveLength(2);
    expect(limited.stderr).toMatch(/the newest 1 shown; more match/);
  });

  it('writes CSV with a header row, quoted fields and ISO times', async () => {
    const { code, stdout } = await callcard(['calls', '--csv']);
    expect(code).toBe(0);
    expect(stdout.startsWith('id,workflow,time,direction,status,originatorNumber,')).toBe(true);
    const rows = parse(stdout, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
    expect(rows.map((row) => row['id'])).toEqual(['call-c', 'call-b', 'call-a']);
    expect(rows[1]).toMatchObject({
      time: '2026-11-27T08:00:00.000Z',
      startedTime: '2026-11-27T08:00:00.000Z',
      direction: 'outgoing',
      status: 'missed',
      originatorNumber: '**01',
      destinationNumber: '+41 21 *** ** 00',
      destinationName: 'Keller, "Käthi"\nHead office',
      durationSeconds: '',
    });
    expect(rows[2]).toMatchObject({ answeredTime: '2026-11-26T10:00:07.000Z', durationSeconds: '180' });
    const full = await callcard([
      'calls',
      '--csv',
      '--show-numbers',
      '--limit',
      '1',
      '--number',
      '41791234567',
    ]);
    expect(parse(full.stdout, { columns: true })).toEqual([
      expect.objectContaining({ id: 'call-c', originatorNumber: '41791234567' }),
    ]);
  });

  it('rejects bad flags with a clear message and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['calls', '--direction', 'sideways'], /Allowed choices are incoming, outgoing/],
      [['calls', '--status', 'busy'], /Allowed choices are answered, missed/],
      [['calls', '--limit', '0'], /--limit.*whole number of at least 1/],
      [['calls', '--limit', 'ten'], /--limit.*whole number/],
      [['calls', '--from', 'yesterday'], /--from.*must be a date/],
      [['calls', '--from', '2026-11-28', '--to', '2026-11-27'], /--from must be before --to/],
      [['calls', '--number', 'abc'], /--number "abc" is not a phone number/],
      [['calls', '--colour'], /unknown option '--colour'/],
      [['calls', 'purge', '--days', '-3'], /--days/],
      [['outbox', '--status', 'lost'], /Allowed choices are pending, running, done, dead/],
      [['outbox', 'retry'], /missing required argument 'id'/],
    ];
    for (const [args, message] of cases) {
      const result = await callcard(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('purges calls older than the retention, or --days', async () => {
    await seed((store) =>
      store.calls.record(call('call-old', { startedTime: new Date(Date.now() - 400 * DAY).toISOString() })),
    );
    // The seeded calls have fixed dates: those that are older than a year by now go too.
    const seeded = ['2026-11-26T10:00:00Z', '2026-11-27T08:00:00Z', '2026-11-28T10:00:00Z'];
    const expected = 1 + seeded.filter((time) => Date.parse(time) < Date.now() - 365 * DAY).length;
    const first = await callcard(['calls', 'purge']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`^removed ${expected} calls? that started before \\S+Z \\(older than 365 days\\)$`, 'm'),
    );
    expect((await callcard(['calls', '--csv'])).stdout).not.toContain('call-old');
    const second = await callcard(['calls', 'purge', '--days', '1']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^removed \d+ calls? that started before \S+ \(older than 1 day\)$/m);

    writeFileSync(join(dir.path, 'keep.yaml'), 'journal:\n  retentionDays: null\n');
    const off = await callcard(['calls', 'purge', '--config', 'keep.yaml']);
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/journal.retentionDays is null.*--days/);
  });

  describe('outbox', () => {
    const delivery = (callId: string, action = 0): NewDelivery => ({
      id: `Notes:${callId}:${action}`,
      workflow: 'Notes',
      callId,
      action,
      actionType: 'webhook',
      orderKey: `contact:${callId}`,
      payload: { secretMarker: 'PAYLOAD-MUST-NOT-SHOW', phone: '41215522000' },
      maxAttempts: 3,
    });

    beforeEach(async () => {
      await seed(async (store) => {
        const now = Date.now();
        await store.outbox.enqueue([delivery('x1'), delivery('x2'), delivery('x3')], now);
        const claimed = await store.outbox.claim('test-worker', now, 60_000, 10);
        expect(claimed.map((d) => d.id).sort()).toEqual(['Notes:x1:0', 'Notes:x2:0', 'Notes:x3:0']);
        await store.outbox.fail(
          'Notes:x1:0',
          'test-worker',
          'HTTP 500 from CRM:\nstack line',
          undefined,
          now,
        );
        await store.outbox.complete('Notes:x2:0', 'test-worker', { id: 'n1' }, now);
      });
    });

    it('lists deliveries without payloads, with status counts', async () => {
      const { code, stdout } = await callcard(['outbox']);
      expect(code).toBe(0);
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^ID\s+WORKFLOW\s+ACTION\s+STATUS\s+ATTEMPTS\s+NEXT TRY\s+LAST ERROR$/);
      expect(lines.find((l) => l.startsWith('Notes:x1:0'))).toMatch(
        /^Notes:x1:0\s+Notes\s+webhook\s+dead\s+1\/3\s+-\s+HTTP 500 from CRM: stack line$/,
      );
      expect(lines.find((l) => l.startsWith('Notes:x2:0'))).toMatch(/\sdone\s/);
      expect(lines.find((l) => l.startsWith('Notes:x3:0'))).toMatch(/\srunning\s+1\/3\s+running until /);
      expect(lines.at(-1)).toBe('0 pending, 1 running, 1 done, 1 dead');
      expect(stdout).not.toMatch(/PAYLOAD-MUST-NOT-SHOW|41215522000/);

      const dead = await callcard(['outbox', '--status', 'dead', '--limit', '5']);
      expect(dead.stdout.trim().split('\n').slice(1, -1)).toEqual([expect.stringMatching(/^Notes:x1:0\s/)]);
      expect((await callcard(['outbox', '--status', 'pending'])).stdout).toMatch(/^no deliveries pending\n/);
    });

    it('retries and drops deliveries by id; unknown or running ones exit 1', async () => {
      const retried = await callcard(['outbox', 'retry', 'Notes:x1:0']);
      expect(retried.code).toBe(0);
      expect(retried.stdout).toMatch(/"Notes:x1:0" will be tried again/);
      expect((await callcard(['outbox', '--status', 'pending'])).stdout).toMatch(
        /^Notes:x1:0\s.*pending\s+0\/3\s+now/m,
      );

      const done = await callcard(['outbox', 'retry', 'Notes:x2:0']);
      expect(done.code).toBe(1);
      expect(done.stderr).toMatch(/"Notes:x2:0" is done/);
      const missing = await callcard(['outbox', 'retry', 'Notes:nope:0']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no delivery "Notes:nope:0"/);

      const dropped = await callcard(['outbox', 'drop', 'Notes:x2:0']);
      expect(dropped.code).toBe(0);
      expect(dropped.stdout).toMatch(/"Notes:x2:0" dropped \(it was done\)/);
      const running = await callcard(['outbox', 'drop', 'Notes:x3:0']);
      expect(running.code).toBe(1);
      expect(running.stderr).toMatch(/running delivery cannot be dropped/);
      const gone = await callcard(['outbox', 'drop', 'Notes:x2:0']);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/no delivery "Notes:x2:0"/);
      expect((await callcard(['outbox'])).stdout.trim().split('\n').at(-1)).toBe(
        '1 pending, 1 running, 0 done, 0 dead',
      );
    });
  });
});
