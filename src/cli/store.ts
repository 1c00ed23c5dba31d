import { resolve } from 'node:path';
import { CallcardError } from '../errors.js';
import type { CopyReport, StoreLocation } from '../store/copy.js';
import { table } from './format.js';
import { type CommandIo, write } from './io.js';

export interface StoreMigrateOptions {
  readonly from: string;
  readonly to: string;
  /** The PostgreSQL side's schema (default `callcard`, as the config's). */
  readonly schema?: string;
  /** The environment variable holding the PostgreSQL side's password, when its URL has none. */
  readonly passwordEnv?: string;
}

const isPostgres = (where: string) => /^postgres(ql)?:\/\//i.test(where);

/**
 * `callcard store migrate --from A --to B`: an embedded data directory into a PostgreSQL schema, or
 * back. Every table is replaced in the target at once, so a second run gives the same result and a
 * run cut off is completed by running it again.
 */
export async function storeMigrateCommand(options: StoreMigrateOptions, io: CommandIo): Promise<void> {
  if (isPostgres(options.from) === isPostgres(options.to)) {
    throw new CallcardError(
      'INVALID_INPUT',
      'give a data directory and a postgres:// URL: one as --from, the other as --to',
    );
  }
  const password = options.passwordEnv === undefined ? undefined : io.env[options.passwordEnv];
  if (options.passwordEnv !== undefined && !password) {
    throw new CallcardError('INVALID_INPUT', `the variable ${options.passwordEnv} is not set`);
  }
  const location = (where: string): StoreLocation =>
    isPostgres(where)
      ? {
          postgres: {
            url: where,
            schema: options.schema ?? 'callcard',
            ...(password !== undefined && { password }),
          },
        }
      : { dataDir: resolve(io.cwd, where) };
  // Loaded only when run: both stores' drivers.
  const { copyStore } = await import('../store/copy.js');
  const report = await copyStore(location(options.from), location(options.to));
  await write(io.stdout, describe(report));
}

function describe(report: CopyReport): string {
  const rows = report.tables.map((entry) => [entry.name, String(entry.rows)]);
  const secrets = report.secrets.length > 0 ? report.secrets.join(', ') : 'none';
  return `${table([['table', 'rows'], ...rows])}\nsecrets copied: ${secrets}\n`;
}
