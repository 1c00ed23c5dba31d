import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';

// A secret setting comes as `<key>` (in the config), `<key>Env` (an environment variable's name) or
// `<key>File` (a file's path): one of the three. Shared by the adapters that authenticate.

/** The three settings of a secret. */
export function secretFields<K extends string>(key: K) {
  return {
    [key]: z.string().min(1).optional(),
    [`${key}Env`]: z.string().min(1).optional(),
    [`${key}File`]: z.string().min(1).optional(),
  } as Record<K | `${K}Env` | `${K}File`, z.ZodOptional<z.ZodString>>;
}

/** A refinement: exactly one of the three settings is given. */
export function oneSecret(key: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = [key, `${key}Env`, `${key}File`].filter((name) => value[name] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message:
          given.length === 0
            ? `needs ${key}, ${key}Env (an environment variable's name) or ${key}File (a file's path)`
            : `give only one of ${given.join(', ')}`,
      });
    }
  };
}

/** HTTP Basic auth: a user name and its password (or passwordEnv, passwordFile). */
export const basicAuthSchema = z
  .object({ type: z.literal('basic'), username: z.string().min(1), ...secretFields('password') })
  .strict()
  .superRefine(oneSecret('password'));

/** A bearer token (or tokenEnv, tokenFile). */
export const bearerAuthSchema = z
  .object({ type: z.literal('bearer'), ...secretFields('token') })
  .strict()
  .superRefine(oneSecret('token'));

export interface SecretContext {
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
}

/** A secret in an environment variable (trimmed); `setting` names it in errors, e.g. `auth.tokenEnv`. */
export function secretFromEnv(variable: string, setting: string, env: NodeJS.ProcessEnv): string {
  const value = env[variable]?.trim();
  if (!value) throw new Error(`${setting}: environment variable ${variable} is not set`);
  return value;
}

/** A secret in a file (relative to the config's folder, trimmed); errors name the setting and the file. */
export function secretFromFile(path: string, setting: string, baseDir: string): string {
  const full = resolve(baseDir, path);
  let value: string;
  try {
    value = readFileSync(full, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`${setting}: cannot read ${full} (${code})`);
  }
  if (!value) throw new Error(`${setting}: ${full} is empty`);
  return value;
}

/**
 * Reads `<key>`, `<key>Env` or `<key>File` of `settings`, or undefined when none is given. A
 * variable that is not set, or a file that cannot be read, is an error now rather than a failed
 * login later. Errors name the setting (`prefix` + its name, e.g. `auth.tokenEnv`), never the value.
 */
export function readOptionalSecret(
  settings: Readonly<Record<string, unknown>>,
  key: string,
  context: SecretContext,
  prefix = '',
): string | undefined {
  const given = [key, `${key}Env`, `${key}File`].filter((name) => settings[name] !== undefined);
  if (given.length > 1) throw new Error(`give only one of ${given.map((name) => prefix + name).join(', ')}`);
  const inline = settings[key];
  if (typeof inline === 'string') return inline;
  const env = settings[`${key}Env`];
  if (typeof env === 'string') return secretFromEnv(env, `${prefix}${key}Env`, context.env);
  const file = settings[`${key}File`];
  if (typeof file === 'string') return secretFromFile(file, `${prefix}${key}File`, context.baseDir);
  return undefined;
}

/** Reads `<key>`, `<key>Env` or `<key>File` of the auth settings; names the setting, never the value. */
export function readSecret(settings: Record<string, unknown>, key: string, context: SecretContext): string {
  const value = readOptionalSecret(settings, key, context, 'auth.');
  if (value === undefined) throw new Error(`auth.${key} is missing`);
  return value;
}
