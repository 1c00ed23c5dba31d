import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Checks a filter written as text (RFC 4515) with the LDAP client's own parser; throws with the
 * reason when it is not one. The client loads on the first filter checked (its CommonJS build, as
 * config validation is synchronous), so a config without an LDAP source never loads it. The source
 * parses the filter again with the client it queries with (`filters.ts`).
 */
export function checkFilterText(text: string): void {
  const { FilterParser } = require('ldapts') as typeof import('ldapts');
  FilterParser.parseString(text.trim());
}
