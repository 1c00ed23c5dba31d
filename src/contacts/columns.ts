import type { RawContact } from './raw-contact.js';

/**
 * What a column holds, from its name: the same rules for a CSV header, an SQL result column and a
 * mapped REST field. Every column whose name says phone/mobile/tel/fax... is a number; known names
 * fill the card; any other column is shown as "label: value" (customData).
 */
export type ColumnRole =
  | {
      kind:
        | 'id'
        | 'name'
        | 'firstName'
        | 'lastName'
        | 'company'
        | 'contactUri'
        | 'companyUri'
        | 'country'
        | 'companyCountry'
        | 'updatedAt'
        | 'deleted';
    }
  | { kind: 'ignore' }
  | { kind: 'phone'; label: string }
  | { kind: 'custom'; label: string };

const FIELDS: Readonly<Record<string, ColumnRole['kind']>> = {
  id: 'id',
  name: 'name',
  full_name: 'name',
  first_name: 'firstName',
  firstname: 'firstName',
  last_name: 'lastName',
  lastname: 'lastName',
  company: 'company',
  organization: 'company',
  organisation: 'company',
  contact_uri: 'contactUri',
  company_uri: 'companyUri',
  country: 'country',
  company_country: 'companyCountry',
  vorname: 'firstName',
  nachname: 'lastName',
  prenom: 'firstName',
  prénom: 'firstName',
  given_name: 'firstName',
  family_name: 'lastName',
  surname: 'lastName',
  firma: 'company',
  unternehmen: 'company',
  entreprise: 'company',
  societe: 'company',
  société: 'company',
  azienda: 'company',
  land: 'country',
  pays: 'country',
  updated_at: 'updatedAt',
  deleted: 'deleted',
};

// A header word that names a number: "Phone", "Mobile phone", "tel_private", "Fax 2", "Natel", "Handy".
const PHONE_WORD =
  /^(?:(?:tele?)?phones?|mobile?|mob|cell(?:phone)?|tel|telefon|telephone|telefono|tél[ée]?phone|t[ée]l|fax|telefax|handy|natel|gsm|portable|cellulare|pager|sip|voip)\d*$/;

// Compound words that name a number: "Telefonnummer", "Mobiltelefon", "Faxnummer", "Handynummer".
const PHONE_STEM = /phone|telefon|telephon|téléphone|mobil|handy|natel|fax/;

export function roleOf(header: string): ColumnRole {
  const normalized = header
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_|_$/g, '');
  const field = FIELDS[normalized];
  if (field) return { kind: field } as ColumnRole;
  if (PHONE_STEM.test(normalized) || normalized.split('_').some((word) => PHONE_WORD.test(word))) {
    return { kind: 'phone', label: header.trim() };
  }
  return { kind: 'custom', label: header.trim() };
}

export function columnRoles(names: readonly string[]): ColumnRole[] {
  return names.map(roleOf);
}

function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString();
  const result = String(value).trim();
  return result === '' ? undefined : result;
}

function epochMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '') {
    // SQL DATETIME text without zone is read as UTC.
    const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** A contact from one row of values, by the roles of its columns. */
export function toRawContact(roles: readonly ColumnRole[], values: readonly unknown[]): RawContact {
  const raw: RawContact = { phones: [], customData: {} };
  let first = '';
  let last = '';
  let companyCountry: string | undefined;
  roles.forEach((role, index) => {
    const cell = values[index];
    if (role.kind === 'updatedAt') {
      const ms = epochMs(cell);
      if (ms !== undefined) raw.updatedAt = ms;
      return;
    }
    if (role.kind === 'deleted') {
      if (cell === true || cell === 1 || cell === '1' || cell === 'true') raw.deleted = true;
      return;
    }
    if (role.kind === 'ignore') return;
    const value = text(cell);
    if (!value) return;
    switch (role.kind) {
      case 'phone':
        raw.phones.push({ value, label: role.label });
        break;
      case 'custom':
        raw.customData[role.label] = value;
        break;
      case 'firstName':
        first = value;
        break;
      case 'lastName':
        last = value;
        break;
      case 'companyCountry':
        companyCountry = value;
        break;
      default:
        raw[role.kind] = value;
    }
  });
  if (!raw.name && (first || last)) raw.name = `${first} ${last}`.trim();
  // A contact without an address country of its own is read in its company's.
  if (!raw.country && companyCountry) raw.country = companyCountry;
  return raw;
}
