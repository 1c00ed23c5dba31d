/**
 * What the console keeps and reads, run against both stores: contacts found by the start of their
 * name or company, in pages, and the accounts, sessions and audit log.
 */
import { expect, it } from 'vitest';
import type { ContactRecord } from '../../src/store/types.js';
import { describeStores } from './support.js';

const contact = (id: string, name: string | undefined, company?: string): ContactRecord => ({
  id,
  ...(name !== undefined && { name }),
  ...(company !== undefined && { company }),
  phones: [{ key: `+4121552${id.padStart(4, '0')}`, raw: `021 552 ${id.padStart(4, '0')}`, label: 'phone' }],
});

describeStores('the console in the store', (current) => {
  it('finds contacts by the start of their name or company, in pages, each once', async () => {
    const { store } = current();
    const session = await store.contacts.beginImport('contacts', { replace: false });
    await session.write([
      contact('1', 'Alexa Holiday', 'White Cross Co'),
      contact('2', 'alan Turing', 'Bletchley'),
      contact('3', 'Bruno Keller', 'Alpine AG'),
      contact('4', undefined, 'Alps Travel'),
      contact('5', 'Albert Alpha', 'Alpha Corp'),
      contact('6', 'Zoe', 'Zeta'),
    ]);
    await session.commit();
    const ids = async (text: string, limit: number, after?: string) => {
      const page = await store.contacts.search({ text, limit, ...(after && { after }) });
      return { ids: page.contacts.map((found) => found.id), next: page.next };
    };
    expect((await ids('AL', 10)).ids).toEqual(['2', '5', '1', '3', '4']);
    expect((await ids('alp', 10)).ids).toEqual(['5', '3', '4']);
    expect((await ids('nobody', 10)).ids).toEqual([]);
    const first = await ids('al', 2);
    expect(first.ids).toEqual(['2', '5']);
    const second = await ids('al', 2, first.next);
    expect(second.ids).toEqual(['1', '3']);
    expect(await ids('al', 2, second.next)).toEqual({ ids: ['4'], next: undefined });
    const [found] = (await store.contacts.search({ text: 'zoe', limit: 1 })).contacts;
    expect(found).toMatchObject({
      id: '6',
      source: 'contacts',
      phones: [{ key: '+41215520006', raw: '021 552 0006' }],
    });
    const byKey = await store.contacts.search({ key: '+41215520003', limit: 10 });
    expect(byKey.contacts.map((hit) => hit.name)).toEqual(['Bruno Keller']);
    await expect(store.contacts.search({ text: 'al', limit: 2, after: 'not-a-cursor' })).rejects.toThrow();
  });

  it('keeps accounts, ends sessions with their password or account, and pages the audit log', async () => {
    const { admin } = current().store;
    for (let i = 1; i <= 5; i++)
      await admin.audit({ at: i, actor: 'alice', action: `step-${i}`, address: '::1' });
    const first = await admin.auditLog({ limit: 2 });
    expect(first.entries.map((entry) => entry.action)).toEqual(['step-5', 'step-4']);
    expect(first.entries[0]).toMatchObject({ at: 5, actor: 'alice', address: '::1' });
    const second = await admin.auditLog({ limit: 2, before: first.next! });
    expect(second.entries.map((entry) => entry.action)).toEqual(['step-3', 'step-2']);
    const last = await admin.auditLog({ limit: 2, before: second.next! });
    expect(last).toMatchObject({ entries: [{ action: 'step-1' }] });
    expect(last.next).toBeUndefined();

    expect(await admin.hasAccounts()).toBe(false);
    const account = {
      name: 'alice',
      role: 'tenant' as const,
      tenant: 'default',
      passwordHash: 'x',
      mustChange: true,
      passwordAt: 1,
      createdAt: 1,
    };
    expect(await admin.addAccount(account)).toBe(true);
    expect(await admin.addAccount(account)).toBe(false);
    expect(await admin.account('alice')).toEqual(account);
    expect(await admin.hasAccounts()).toBe(true);
    await admin.openSession({ idHash: 'h1', account: 'alice', createdAt: 10, seenAt: 10 });
    expect(await admin.session('h1')).toEqual({ idHash: 'h1', account: 'alice', createdAt: 10, seenAt: 10 });
    await admin.touchSession('h1', 15);
    expect((await admin.session('h1'))?.seenAt).toBe(15);
    expect(await admin.setPassword('alice', 'y', false, 20)).toBe(true);
    expect(await admin.session('h1')).toBeUndefined();
    expect(await admin.account('alice')).toMatchObject({
      passwordHash: 'y',
      mustChange: false,
      passwordAt: 20,
    });
    await admin.openSession({ idHash: 'h3', account: 'alice', createdAt: 30, seenAt: 30 });
    await admin.openSession({ idHash: 'h4', account: 'alice', createdAt: 30, seenAt: 90 });
    expect(await admin.purgeSessions(50, 0)).toBe(1);
    await admin.endSession('h4');
    expect(await admin.session('h4')).toBeUndefined();
    await admin.openSession({ idHash: 'h5', account: 'alice', createdAt: 100, seenAt: 100 });
    expect(await admin.removeAccount('alice')).toBe(true);
    expect(await admin.session('h5')).toBeUndefined();
    expect((await admin.accounts()).map((entry) => entry.name)).toEqual([]);
  });
});
