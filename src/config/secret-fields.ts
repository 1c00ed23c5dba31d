import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

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

/** Reads `<key>`, `<key>Env` or `<key>File` of the auth settings; names the setting, never the value. */
export function readSecret(settings: Record<string, unknown>, key: string, context: SecretContext): string {
  const inline = settings[key];
  if (typeof inline === 'string') return inline;
  const env = settings[`${key}Env`];
  if (typeof env === 'string') {
    const value = context.env[env]?.trim();
    if (!value) throw new Error(`auth.${key}Env: environment variable ${env} is not set`);
    return value;
  }
  const file = settings[`${key}File`];
  if (typeof file === 'string') {
    const full = resolve(context.baseDir, file);
    let value: string;
    try {
      value = readFileSync(full, 'utf8').trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new Error(`auth.${key}File: cannot read ${full} (${code})`);
    }
    if (!value) throw new Error(`auth.${key}File: ${full} is empty`);
    return value;
  }
  throw new Error(`auth.${key} is missing`);
}
