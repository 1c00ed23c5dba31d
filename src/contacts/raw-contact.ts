import { createHash } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { regionOf, storedKeys } from '../phone/index.js';
import type { ContactRecord, PhoneEntry } from '../store/types.js';

/** A contact as a file or a source gives it, before its numbers are parsed. */
export interface RawContact {
  id?: string;
  name?: string;
  company?: string;
  contactUri?: string;
  companyUri?: string;
  /** Country that the row's national numbers are read in: an ISO code or a name (en, de, fr, it). */
  country?: string;
  phones: { value: string; label?: string }[];
  customData: Record<string, string>;
  /** Epoch milliseconds of the last change, when the source tells. */
  updatedAt?: number;
  /** The source says the contact was deleted (seen in incremental syncs). */
  deleted?: boolean;
  /** The source could not read the record (no id, a field of the wrong kind): why; it is skipped. */
  invalid?: string;
}

const MAX_ID_LENGTH = 200;

/** A contact ready for the store, and what was odd about it (it is kept all the same). */
export interface Built {
  readonly record: ContactRecord;
  readonly warning?: string;
}

/**
 * Turns a raw contact into the record the store keeps: numbers parsed once into match keys, the
 * national ones in the contact's country (an unknown country: the default region, and a warning).
 * Returns a message instead when the entry cannot be used.
 */
export function buildContact(raw: RawContact, defaultRegion: CountryCode): Built | string {
  if (raw.invalid) return raw.invalid;
  let region = defaultRegion;
  let warning: string | undefined;
  if (raw.country?.trim()) {
    const found = regionOf(raw.country);
    if (found) region = found;
    else {
      warning = `country "${raw.country.trim().slice(0, 30)}" is not known: national numbers read in ${defaultRegion}`;
    }
  }
  if (!raw.name && !raw.company) return 'no name and no company';
  const phones: PhoneEntry[] = [];
  const seen = new Set<string>();
  for (const phone of raw.phones) {
    for (const key of storedKeys(phone.value, region)) {
      if (seen.has(key)) continue;
      seen.add(key);
      phones.push(phone.label ? { key, raw: phone.value, label: phone.label } : { key, raw: phone.value });
    }
  }
  if (phones.length === 0) return 'no usable phone number';
  if (raw.id !== undefined && raw.id.length > MAX_ID_LENGTH)
    return `id longer than ${MAX_ID_LENGTH} characters`;
  const record: ContactRecord = {
    // Without an id, the same person gets the same id on every import of the file.
    id: raw.id || stableId(raw.name, raw.company, phones[0]!.key),
    phones,
    ...(raw.name && { name: raw.name }),
    ...(raw.company && { company: raw.company }),
    ...(raw.contactUri && { contactUri: raw.contactUri }),
    ...(raw.companyUri && { companyUri: raw.companyUri }),
    ...(Object.keys(raw.customData).length > 0 && { customData: raw.customData }),
    ...(raw.updatedAt !== undefined && { updatedAt: raw.updatedAt }),
  };
  return warning === undefined ? { record } : { record, warning };
}

function stableId(name = '', company = '', key = ''): string {
  const text = [name.trim().toLowerCase(), company.trim().toLowerCase(), key].join('\u0000');
  return `h-${createHash('sha256').update(text).digest('base64url').slice(0, 16)}`;
}
