import type { Entry } from 'ldapts';
import type { RawContact } from '../../contacts/raw-contact.js';

/** Which attributes of an entry give each field of a contact; lists are tried in order. */
export interface EntryMapping {
  readonly id: readonly string[];
  readonly name: readonly string[];
  readonly company: readonly string[];
  readonly phones: readonly string[];
  readonly updatedAt: readonly string[];
  readonly country?: string | undefined;
  /** Card label → attribute. */
  readonly custom: Readonly<Record<string, string>>;
  /** URL with `{attribute}`, `{id}` and `{dn}` placeholders. */
  readonly contactUri?: string | undefined;
}

/** Attributes that hold bytes, not text: they must be asked for as buffers. */
const BINARY = new Set(['objectguid']);

const PLACEHOLDER = /\{([^{}]+)\}/g;

/** The attribute names a template refers to (`{id}` and `{dn}` are not attributes). */
export function templateAttributes(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)]
    .map((match) => match[1]!)
    .filter((name) => name !== 'id' && name !== 'dn');
}

/** Every attribute a search must ask for; operational ones (entryUUID, modifyTimestamp) are only sent when named. */
export function requestedAttributes(mapping: EntryMapping): { attributes: string[]; binary: string[] } {
  const names = [
    ...mapping.id,
    ...mapping.name,
    ...mapping.company,
    ...mapping.phones,
    ...mapping.updatedAt,
    ...(mapping.country ? [mapping.country] : []),
    ...Object.values(mapping.custom),
    ...(mapping.contactUri ? templateAttributes(mapping.contactUri) : []),
  ];
  const seen = new Set<string>();
  const attributes = names.filter((name) => {
    const key = name.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // The client matches buffer attributes by the exact spelling the server answers with.
  const binary = attributes
    .filter((name) => BINARY.has(name.toLowerCase()))
    .flatMap((name) => [name, 'objectGUID']);
  return { attributes, binary: [...new Set(binary)] };
}

type Value = string | Buffer;

/** Attribute values by lower-case name: servers answer in their own spelling of a name. */
function valuesOf(entry: Entry): Map<string, Value[]> {
  const values = new Map<string, Value[]>();
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'dn') continue;
    values.set(name.toLowerCase(), Array.isArray(value) ? value : [value]);
  }
  return values;
}

function text(value: Value): string {
  return (Buffer.isBuffer(value) ? value.toString('utf8') : value).trim();
}

/**
 * A GUID as Active Directory shows it (`f81d4fae-7dec-11d0-a765-00a0c91e6bf6`) from the 16 bytes
 * of objectGUID: the first three groups are stored little-endian, the last two as they read.
 */
export function formatGuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error(`a GUID has 16 bytes, not ${bytes.length}`);
  const hex = (from: number, to: number, littleEndian: boolean) => {
    const part = [...bytes.subarray(from, to)];
    if (littleEndian) part.reverse();
    return part.map((byte) => byte.toString(16).padStart(2, '0')).join('');
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join('-');
}

const GENERALIZED_TIME =
  /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)?$/;

/** Epoch ms of an LDAP generalized time (`20261127015550Z`, AD's `20261127015550.0Z`, `...+0100`). */
export function parseGeneralizedTime(value: string): number | undefined {
  const match = GENERALIZED_TIME.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  let ms = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute ?? 0));
  ms += Number(second ?? 0) * 1000;
  // A fraction belongs to the last unit given: seconds, else minutes, else hours.
  if (fraction) ms += Number(`0.${fraction}`) * (second ? 1000 : minute ? 60_000 : 3_600_000);
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offset = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5) || 0);
    ms -= sign * offset * 60_000;
  }
  return Number.isFinite(ms) ? Math.floor(ms) : undefined;
}

/** A time for a `>=` filter, to the second (`20261127015550.0Z`): the form AD documents, OpenLDAP reads it too. */
export function generalizedTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19).replace(/[-:T]/g, '')}.0Z`;
}

/** Turns directory entries into contacts as `mapping` says. */
export function entryReader(mapping: EntryMapping): (entry: Entry) => RawContact {
  const lower = (names: readonly string[]) => names.map((name) => name.toLowerCase());
  const id = lower(mapping.id);
  const name = lower(mapping.name);
  const company = lower(mapping.company);
  const updatedAt = lower(mapping.updatedAt);
  const country = mapping.country?.toLowerCase();

  return (entry) => {
    const values = valuesOf(entry);
    const all = (attribute: string) =>
      (values.get(attribute.toLowerCase()) ?? []).map(text).filter((value) => value !== '');
    const first = (attributes: readonly string[]) => {
      for (const attribute of attributes) {
        const value = all(attribute)[0];
        if (value !== undefined) return value;
      }
      return undefined;
    };

    const contact: RawContact = { id: idOf(values, id) ?? entry.dn, phones: [], customData: {} };
    const fullName = first(name);
    if (fullName) contact.name = fullName;
    const companyName = first(company);
    if (companyName) contact.company = companyName;
    if (country) {
      const region = first([country]);
      if (region) contact.country = region;
    }
    // Each attribute's values in the order the server gives them; the first is the main number.
    for (const attribute of mapping.phones) {
      for (const value of all(attribute)) contact.phones.push({ value, label: attribute });
    }
    for (const [label, attribute] of Object.entries(mapping.custom)) {
      const shown = all(attribute);
      if (shown.length > 0) contact.customData[label] = shown.join(', ');
    }
    const changed = first(updatedAt);
    const time = changed === undefined ? undefined : parseGeneralizedTime(changed);
    if (time !== undefined) contact.updatedAt = time;
    if (mapping.contactUri) {
      const uri = fill(mapping.contactUri, (placeholder) => {
        if (placeholder === 'id') return contact.id;
        if (placeholder === 'dn') return entry.dn;
        return all(placeholder)[0];
      });
      if (uri) contact.contactUri = uri;
    }
    return contact;
  };
}

function idOf(values: Map<string, Value[]>, attributes: readonly string[]): string | undefined {
  for (const attribute of attributes) {
    const value = values.get(attribute)?.[0];
    if (value === undefined) continue;
    if (Buffer.isBuffer(value)) {
      if (value.length === 16) return formatGuid(value);
      if (value.length > 0) return value.toString('hex');
      continue;
    }
    const id = value.trim();
    if (id !== '') return id;
  }
  return undefined;
}

/** A template with its placeholders URL-encoded; no link when one of them has no value. */
function fill(template: string, lookup: (placeholder: string) => string | undefined): string | undefined {
  let missing = false;
  const filled = template.replace(PLACEHOLDER, (_, placeholder: string) => {
    const value = lookup(placeholder);
    if (value === undefined || value === '') missing = true;
    return encodeURIComponent(value ?? '');
  });
  return missing ? undefined : filled;
}
