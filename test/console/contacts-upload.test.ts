/**
 * Contacts uploaded through the console (the file as the body, imported as `callcard import`
 * does) and downloaded as CSV, page after page of the name index.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { build, type TestService } from '../support/helper.js';
import { addAccount, browser, csrfOf } from './support.js';

/** Uploads `body` as the console's script does; answers the response. */
async function upload(
  service: TestService,
  user: ReturnType<typeof browser>,
  body: string,
  query: Record<string, string> = { name: 'contacts.csv' },
  type = 'application/octet-stream',
) {
  const token = csrfOf((await user.get('/admin/contacts')).body);
  return service.app.inject({
    method: 'POST',
    url: `/admin/contacts/upload?${new URLSearchParams(query).toString()}`,
    headers: { cookie: user.jar.header, 'content-type': type, 'x-csrf-token': token },
    payload: body,
  });
}

describe('contacts uploaded and downloaded in the console', () => {
  let service: TestService | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('imports an upload in the background, with its progress and its skipped entries', async () => {
    service = await build();
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    const alice = browser(service.app);
    await alice.signIn('/admin', 'alice');
    const rows = Array.from(
      { length: 2500 },
      (_, i) => `c${i},Person ${i},,044 555 ${String(i).padStart(4, '0')}`,
    );
    const answer = await upload(
      service,
      alice,
      `id,name,company,phone\n${rows.join('\n')}\nbad,No Number,,\n`,
    );
    expect(answer.statusCode).toBe(202);
    const { location } = answer.json() as { location: string };
    let progress: { status: string; progress: number; read: number; skipped: number } | undefined;
    await expect
      .poll(
        async () => {
          progress = (await alice.get(`${location}/progress`)).json();
          return progress!.status;
        },
        { timeout: 60_000 },
      )
      .toBe('done');
    expect(progress).toMatchObject({ progress: 1, read: 2501, skipped: 1 });
    const report = await alice.get(location);
    expect(report.body).toContain('Imported 2500 of 2501 entries; 1 skipped; 0 removed.');
    expect(report.body).toContain('<tr data-line="2502"><td>2502</td><td>no usable phone number</td></tr>');
    expect(await service.store.contacts.count('contacts')).toBe(2500);
    const audit = (await service.store.admin.auditLog({ limit: 5 })).entries.find(
      (entry) => entry.action === 'contacts-import',
    );
    expect(audit?.subject).toBe('contacts: contacts.csv, 2500 imported, 1 skipped');

    // Downloaded: every contact, across pages of a thousand.
    const csv = (await alice.get('/admin/contacts.csv')).body.split('\r\n').filter(Boolean);
    expect(csv).toHaveLength(2501);
    expect(new Set(csv.slice(1).map((line) => line.split(',')[1])).size).toBe(2500);
    expect(csv).toContain('contacts,c42,Person 42,,,044 555 0042,,,,,');
  });

  it('refuses a bad upload with a JSON error, and a read-only account with 403', async () => {
    service = await build();
    await addAccount(service.store.admin, 'alice', 'tenant', 'default');
    await addAccount(service.store.admin, 'robin', 'read-only', 'default');
    const alice = browser(service.app);
    await alice.signIn('/admin', 'alice');
    const source = await upload(service, alice, 'id,name,phone\n1,A,044 555 66 77\n', { source: 'crm' });
    expect(source.statusCode).toBe(400);
    expect(source.json()).toEqual({
      error: { code: 'BAD_SOURCE', message: 'not an embedded source; configured: contacts' },
    });
    const empty = await upload(service, alice, '');
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.code).toBe('EMPTY_FILE');
    // A file without a phone column: the import fails as a whole, its page says why.
    const noPhone = await upload(service, alice, 'id,name\n1,A\n');
    expect(noPhone.statusCode).toBe(202);
    const location = (noPhone.json() as { location: string }).location;
    await expect
      .poll(async () => (await alice.get(`${location}/progress`)).json().status, { timeout: 60_000 })
      .toBe('failed');
    expect((await alice.get(location)).body).toContain('The import failed, nothing was changed');
    expect(await service.store.contacts.count('contacts')).toBe(0);

    const robin = browser(service.app);
    await robin.signIn('/admin', 'robin');
    expect((await robin.get('/admin/contacts')).body).not.toContain('data-upload');
    const refused = await upload(service, robin, 'id,name,phone\n1,A,044 555 66 77\n');
    expect(refused.statusCode).toBe(403);
    expect(await service.store.contacts.count('contacts')).toBe(0);
    // The download masks numbers for it.
    await service.importCsv('id,name,phone\n7,Gina,044 555 66 77\n');
    const csv = (await robin.get('/admin/contacts.csv')).body;
    expect(csv).toContain('contacts,7,Gina,,,+41 44 *** ** 77');
    expect(csv).not.toContain('555 66');
  });
});
