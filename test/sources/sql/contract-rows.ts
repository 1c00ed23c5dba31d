import type { RawContact } from '../../../src/contacts/raw-contact.js';
import { storedKeys } from '../../../src/phone/index.js';

/** The contract's contacts as rows of a plain contacts table: id, name, company, phone, phone2. */
export function contactRows(contacts: readonly RawContact[]): unknown[][] {
  return contacts.map((c) => [
    c.id ?? null,
    c.name ?? null,
    c.company ?? null,
    c.phones[0]?.value ?? null,
    c.phones[1]?.value ?? null,
  ]);
}

/**
 * The mapping of such a table (`contactRows`) that also has a time of change, `updated_at`, and a
 * soft-delete flag, `deleted`.
 */
export const contactsMapping = (name: string) => ({
  name,
  id: 'id',
  fullName: 'name',
  company: 'company',
  phones: ['phone', 'phone2'],
  updatedAt: 'updated_at',
  deleted: 'deleted',
});

/**
 * One row per (contact, number) with the number in the form a live search with `form: e164` is
 * given: E.164, or the digits of a short internal number ("2001"), whose e164 form is its digits.
 */
export function numberRows(contacts: readonly RawContact[]): [string, string][] {
  return contacts.flatMap((c) =>
    c.phones
      .flatMap((phone) => storedKeys(phone.value, 'CH'))
      .map((key): [string, string] => [c.id!, key.replace(/^#/, '')]),
  );
}

/** `(?, ?, ...), (?, ...)` for these rows, and their values in order. */
export function valuesOf(rows: readonly (readonly unknown[])[]): { sql: string; params: unknown[] } {
  return {
    sql: rows.map((row) => `(${row.map(() => '?').join(', ')})`).join(', '),
    params: rows.flat(),
  };
}
