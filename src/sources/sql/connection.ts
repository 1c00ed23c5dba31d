import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** How to reach a database: the same settings for sql sources and sql workflow actions. */
export const connectionSettings = {
  driver: z.enum(['postgres', 'mysql', 'sqlite']),
  /** postgres://user@host:5432/db, mysql://user@host:3306/db (the password may come from below). */
  url: z.string().optional(),
  /** SQLite database file. */
  file: z.string().optional(),
  passwordEnv: z.string().optional(),
  passwordFile: z.string().optional(),
};

/** The password from the environment or a file (relative to the config's folder), if one is set. */
export function readPassword(
  config: { readonly passwordEnv?: string | undefined; readonly passwordFile?: string | undefined },
  baseDir: string,
): string | undefined {
  return (
    (config.passwordEnv && process.env[config.passwordEnv]) ||
    (config.passwordFile && readFileSync(resolve(baseDir, config.passwordFile), 'utf8').trim()) ||
    undefined
  );
}
