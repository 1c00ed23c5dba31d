import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/helper.js';

/** The command line, run in this process in `cwd` with only PATH in its environment. */
function callcard(args: string[], cwd: string) {
  return runCli(args, { cwd });
}

describe('callcard sync, sources and lookup --explain', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
    // A SQLite database standing for a customer's ERP, and a CSV export.
    const db = new Database(join(dir.path, 'erp.db'));
    db.exec(`CREATE TABLE customers (no TEXT PRIMARY KEY, display TEXT, phone TEXT, changed TEXT);
      INSERT INTO customers VALUES ('k1', 'Käthi Keller', '+41 (0)21 552 20 00', '2026-01-01 10:00:00'),
                                   ('k2', 'Kurt Kunz', '044 668 18 00', '2026-01-02 10:00:00');`);
    db.close();
    writeFileSync(join(dir.path, 'office.csv'), 'id,name,phone\no1,Office Desk,021 552 20 00\n');
    writeFileSync(
      join(dir.path, 'callcard.yaml'),
      [
        'sources:',
        '  - type: sql',
        '    name: erp',
        '    crmName: ERP',
        '    driver: sqlite',
        '    file: erp.db',
        '    table: { name: customers, id: no, fullName: display, phones: [phone], updatedAt: changed }',
        '  - type: file',
        '    name: office',
        '    path: office.csv',
        '  - type: file',
        '    name: gone',
        '    path: missing.csv',
      ].join('\n'),
    );
  });
  afterEach(() => dir.remove());

  it('syncs mirrored sources, reports each, and fails when one fails', async () => {
    const result = await callcard(['sync', '--config', 'callcard.yaml'], dir.path);
    expect(result.stdout).toMatch(/^erp: full sync, 2 read, 2 written, 0 removed, 0 skipped/m);
    expect(result.stdout).toMatch(/^office: full sync, 1 read, 1 written/m);
    expect(result.stdout).toMatch(/^gone: failed after .*missing\.csv/m);
    expect(result.code).toBe(1);
    const one = await callcard(['sync', 'erp', '--config', 'callcard.yaml'], dir.path);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^erp: incremental sync/m);
    expect((await callcard(['sync', 'nope', '--config', 'callcard.yaml'], dir.path)).stderr).toMatch(
      /"nope" is not a mirrored source/,
    );
  });

  it('lists sources with mode, contacts, last sync and errors', async () => {
    await callcard(['sync', '--config', 'callcard.yaml'], dir.path);
    const { stdout, code } = await callcard(['sources', '--config', 'callcard.yaml'], dir.path);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SOURCE\s+TYPE\s+MODE\s+CONTACTS\s+LAST SYNC/);
    expect(lines.find((l) => l.startsWith('erp'))).toMatch(/^erp\s+sql\s+mirror\s+2\s+\d+ s ago/);
    expect(lines.find((l) => l.startsWith('office'))).toMatch(/^office\s+file\s+mirror\s+1\s+/);
    expect(lines.find((l) => l.startsWith('gone'))).toMatch(
      /^gone\s+file\s+mirror\s+0\s+never.*missing\.csv/,
    );
  });

  it('explains a lookup: key, each source, what was kept; the answer as the CONNECTOR gets it', async () => {
    await callcard(['sync', '--config', 'callcard.yaml'], dir.path);
    rmSync(join(dir.path, 'erp.db'));
    const { stdout, code } = await callcard(
      ['lookup', '41215522000', '--explain', '--config', 'callcard.yaml'],
      dir.path,
    );
    expect(code).toBe(0);
    expect(stdout).toContain('→ key +41215522000');
    expect(stdout).toMatch(/source erp \(mirror\): ok, 1 found/);
    expect(stdout).toMatch(/source office \(mirror\): ok, 1 found/);
    expect(stdout).toContain('kept erp/k1 (main number)');
    const answer = JSON.parse(stdout.slice(stdout.indexOf('answer:') + 'answer:'.length));
    expect(answer.map((c: { id: string; crmName: string }) => [c.id, c.crmName])).toEqual([
      ['k1', 'ERP'],
      ['o1', 'callcard'],
    ]);
  });

  it('prints no secret of the config when its sources fail', async () => {
    // Passwords in the sources' addresses, and sources that fail: their errors are printed.
    writeFileSync(
      join(dir.path, 'secret.yaml'),
      [
        'sources:',
        '  - type: file',
        '    name: export',
        '    url: http://crm:pw-Secret-4711@127.0.0.1:1/export.csv',
        '  - type: sql',
        '    name: erp',
        '    driver: mysql',
        '    url: mysql://crm:pw-Secret-4712@127.0.0.1:3306/no_such_database',
        '    table: { name: customers, id: no, fullName: display, phones: [phone] }',
      ].join('\n'),
    );
    const sync = await callcard(['sync', '--config', 'secret.yaml'], dir.path);
    expect(sync.code).toBe(1);
    expect(sync.stdout).toMatch(/^export: failed after /m);
    expect(sync.stdout).toMatch(/^erp: failed after /m);
    const listed = await callcard(['sources', '--config', 'secret.yaml'], dir.path);
    const explained = await callcard(
      ['lookup', '41215522000', '--explain', '--config', 'secret.yaml'],
      dir.path,
    );
    for (const output of [sync, listed, explained].flatMap((run) => [run.stdout, run.stderr])) {
      expect(output).not.toMatch(/pw-Secret-471[12]/);
    }
  });
});
