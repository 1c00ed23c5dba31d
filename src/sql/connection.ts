import * as z from 'zod';
import { readOptionalSecret } from '../config/secret-fields.js';

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

/**
 * The password from the environment or a file (relative to the config's folder), if one is set, by
 * the one secret reader (config/secret-fields.ts). A variable that is not set, or a file that
 * cannot be read, is an error now rather than a failed login at the first query; errors name the
 * setting, never the value.
 */
export function readPassword(
  config: { readonly passwordEnv?: string | undefined; readonly passwordFile?: string | undefined },
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return readOptionalSecret(config, 'password', { baseDir, env });
}
