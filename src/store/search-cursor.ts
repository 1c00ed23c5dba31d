/** Where a contact search by text continues: after this sort text and row (`ContactSearch.after`). */
export function searchCursor(sort: string, seq: number): string {
  return Buffer.from(JSON.stringify([sort, seq])).toString('base64url');
}

/** The sort text and row of a cursor; the start for none. A cursor not of ours is an error. */
export function readSearchCursor(after: string | undefined): [string, number] {
  if (after === undefined) return ['', 0];
  try {
    const [sort, seq] = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as unknown[];
    if (typeof sort === 'string' && typeof seq === 'number' && Number.isInteger(seq)) return [sort, seq];
  } catch {}
  throw new Error('not a search cursor');
}
