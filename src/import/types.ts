import type { RawContact } from '../contacts/raw-contact.js';

/** One entry read from a file: a contact not yet checked, or why the entry at that line was skipped. */
export type ReadResult =
  | { readonly line: number; readonly raw: RawContact }
  | { readonly line: number; readonly error: string };
