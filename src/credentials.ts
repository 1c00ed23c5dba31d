import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Tenant } from './config/schema.js';
import type { Credential } from './http/auth.js';
import { ensureSecretFile, newToken } from './secrets.js';

/** Tokens, one per line (or separated by commas or spaces); `#` starts a comment. */
export function splitTokens(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter(Boolean);
}

/** A tenant's token file, as read: relative to the config's folder. */
export const tokenFileOf = (tenant: Readonly<Tenant>) =>
  tenant.auth.tokenFile === undefined ? undefined : resolve(tenant.baseDir ?? '.', tenant.auth.tokenFile);

/** The header sets configured for a tenant: inline tokens, its token file, its environment variable. */
export function configuredCredentials(
  tenant: Readonly<Tenant>,
  env: NodeJS.ProcessEnv = process.env,
): Credential[] {
  const { header, tokens, tokenFile, tokenEnv, credentials } = tenant.auth;
  const file = tokenFileOf(tenant);
  const all = [
    ...tokens,
    ...(file ? splitTokens(readFileSync(file, 'utf8')) : []),
    ...(tokenEnv ? splitTokens(env[tokenEnv] ?? '') : []),
  ];
  if (all.some((token) => token.length < 16)) throw new Error('a token is shorter than 16 characters');
  if ((tokenFile || tokenEnv) && all.length === 0 && credentials.length === 0) {
    throw new Error(`${tokenFile ? 'auth.tokenFile' : 'auth.tokenEnv'} holds no token`);
  }
  return [...all.map((token): Credential => ({ [header]: token })), ...credentials];
}

/** What a request must carry to pass a header set, whatever the header names: its values. */
const credentialKey = (set: Credential) => Object.values(set).sort().join('\0');

/**
 * Tenants whose header sets would let the same token in, from any of the ways tokens are given
 * (inline, token files, environment variables, header sets). Each pair once: the later tenant
 * names the earlier one.
 */
export function sharedTokens(
  tenants: readonly { readonly name: string; readonly credentials: readonly Credential[] }[],
): { tenant: string; other: string }[] {
  const owners = new Map<string, string>();
  const found = new Map<string, { tenant: string; other: string }>();
  for (const { name, credentials } of tenants) {
    for (const set of credentials) {
      const key = credentialKey(set);
      const owner = owners.get(key);
      if (owner === undefined) owners.set(key, name);
      else if (owner !== name) found.set(`${name}\0${owner}`, { tenant: name, other: owner });
    }
  }
  return [...found.values()];
}

export const sameCredentials = (a: readonly Credential[], b: readonly Credential[]) => {
  const keys = (sets: readonly Credential[]) =>
    sets
      .map((set) => JSON.stringify(Object.entries(set).sort()))
      .sort()
      .join('\n');
  return keys(a) === keys(b);
};

/** The message for a tenant that shares a token with another; names no token. */
export const sharedTokenMessage = (other: string) => `a token of it is tenant "${other}"'s too`;

/** A token callcard generated and keeps: where (for people), and its file when it is one. */
export interface KeptToken {
  readonly value: string;
  readonly created: boolean;
  readonly keptIn: string;
  readonly file?: string;
}

/**
 * The header sets a tenant accepts: those configured, or else the token callcard keeps for it,
 * `kept` when given (read from the tenant's store), else in its data directory (made on first start).
 */
export function credentialsOf(
  tenant: Readonly<Tenant>,
  kept?: KeptToken,
): {
  credentials: Credential[];
  tokenFile?: string;
  /** Where the generated token is kept, when the tenant's token is one. */
  keptIn?: string;
  generatedToken?: { value: string; keptIn: string; file?: string };
} {
  let credentials: Credential[];
  try {
    credentials = configuredCredentials(tenant);
  } catch (error) {
    throw new Error(`tenant "${tenant.name}": ${(error as Error).message}`);
  }
  if (credentials.length > 0) return { credentials };
  let token = kept;
  if (!token) {
    const inFile = ensureSecretFile(tenant.dataDir, 'token', newToken);
    token = { ...inFile, keptIn: inFile.file };
  }
  return {
    // Several while a rotation from the console is under way, one a line.
    credentials: splitTokens(token.value).map((value): Credential => ({ [tenant.auth.header]: value })),
    keptIn: token.keptIn,
    ...(token.file !== undefined && { tokenFile: token.file }),
    ...(token.created && {
      generatedToken: {
        value: token.value,
        keptIn: token.keptIn,
        ...(token.file !== undefined && { file: token.file }),
      },
    }),
  };
}

/**
 * The header sets each tenant accepts after a reload: each tenant's read again, except where that
 * fails or would let a token of one tenant open another; such a tenant keeps its current ones and
 * `refuse` is told why; `read` reads a tenant's sets (credentialsOf). Returns the tenants whose sets
 * changed, with their new sets.
 */
export function reloadedCredentials(
  tenants: readonly Readonly<Tenant>[],
  current: readonly Credential[][],
  read: (tenant: Readonly<Tenant>) => Credential[],
  refuse: (index: number, message: string) => void,
): { index: number; credentials: Credential[] }[] {
  const next = tenants.map((tenant, index) => {
    try {
      return read(tenant);
    } catch (error) {
      refuse(index, (error as Error).message);
      return current[index]!;
    }
  });
  // A tenant whose new tokens would open another tenant keeps its previous ones. The previous
  // tokens share none, so going back ends the conflicts; each round goes back on at least one.
  const names = tenants.map((tenant) => tenant.name);
  const changed = (index: number) => !sameCredentials(next[index]!, current[index]!);
  for (;;) {
    const conflicts = sharedTokens(names.map((name, index) => ({ name, credentials: next[index]! })));
    let reverted = false;
    for (const { tenant, other } of conflicts) {
      for (const [name, against] of [
        [tenant, other],
        [other, tenant],
      ] as const) {
        const index = names.indexOf(name);
        if (!changed(index)) continue;
        next[index] = current[index]!;
        reverted = true;
        refuse(index, sharedTokenMessage(against));
      }
    }
    if (!reverted) break;
  }
  return next.flatMap((credentials, index) => (changed(index) ? [{ index, credentials }] : []));
}
