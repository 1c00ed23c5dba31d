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

/**
 * The password from the environment or a file (relative to the config's folder), if one is set.
 * A variable that is not set, or a file that cannot be read, is an error now rather than a failed
 * login at the first query; errors name the setting, never the value.
 */
export function readPassword(
  config: { readonly passwordEnv?: string | undefined; readonly passwordFile?: string | undefined },
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (config.passwordEnv !== undefined && config.passwordFile !== undefined)
    throw new Error('give only one of passwordEnv, passwordFile');
  if (config.passwordEnv !== undefined) {
    const value = env[config.passwordEnv];
    if (!value) throw new Error(`passwordEnv: environment variable ${config.passwordEnv} is not set`);
    return value;
  }
  if (config.passwordFile !== undefined) {
    const file = resolve(baseDir, config.passwordFile);
    let value: string;
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new Error(
        `passwordFile: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (!value) throw new Error(`passwordFile: ${file} is empty`);
    return value;
  }
  return undefined;
}
