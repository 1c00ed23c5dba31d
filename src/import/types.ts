import type { ContactRecord } from '../store/types.js';

/** One entry read from a file: a contact, or why the entry at that line was skipped. */
export type ReadResult =
  | { readonly line: number; readonly record: ContactRecord }
  | { readonly line: number; readonly error: string };
