import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** A secret given in the config, or read from an environment variable or a file. */
function secretFields<K extends string>(key: K) {
  return {
    [key]: z.string().min(1).optional(),
    [`${key}Env`]: z.string().min(1).optional(),
    [`${key}File`]: z.string().min(1).optional(),
  } as Record<K | `${K}Env` | `${K}File`, z.ZodOptional<z.ZodString>>;
}

function oneSecret(key: string) {
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

export const carddavAuthSchema = z.discriminatedUnion(
  'type',
  [
    z
      .object({ type: z.literal('basic'), username: z.string().min(1), ...secretFields('password') })
      .strict()
      .superRefine(oneSecret('password')),
    z
      .object({ type: z.literal('bearer'), ...secretFields('token') })
      .strict()
      .superRefine(oneSecret('token')),
  ],
  { error: 'must be basic or bearer' },
);

export type CarddavAuth = z.output<typeof carddavAuthSchema>;

interface SecretContext {
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Reads `<key>`, `<key>Env` or `<key>File`; messages name the setting, never the value. */
function readSecret(settings: Record<string, unknown>, key: string, context: SecretContext): string {
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
      throw new Error(
        `auth.${key}File: cannot read ${full} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (!value) throw new Error(`auth.${key}File: ${full} is empty`);
    return value;
  }
  throw new Error(`auth.${key} is missing`);
}

/** The Authorization header; secrets are read now, so a missing one stops the start. */
export function authHeaders(auth: CarddavAuth | undefined, context: SecretContext): Record<string, string> {
  if (auth === undefined) return {};
  if (auth.type === 'basic') {
    const password = readSecret(auth, 'password', context);
    // UTF-8, as RFC 7617 lets servers announce and as CardDAV servers read it.
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${password}`).toString('base64')}` };
  }
  const token = readSecret(auth, 'token', context);
  if (/[\r\n\0]/.test(token)) throw new Error('auth.token must be one line');
  return { authorization: `Bearer ${token}` };
}
