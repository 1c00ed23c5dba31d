import type { CountryCode } from 'libphonenumber-js';
import { buildContact, type RawContact } from './raw-contact.js';

/** Parsing numbers is most of an import's work: worker threads do it for batches of contacts. */
export default function buildBatch({ raws, region }: { raws: RawContact[]; region: CountryCode }) {
  return raws.map((raw) => buildContact(raw, region));
}
