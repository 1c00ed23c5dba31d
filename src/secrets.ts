import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { ensureSecretFile } from './store/private-files.js';

export { ensureSecretFile };

export const newToken = () => randomBytes(24).toString('base64url');
export const newKey = () => randomBytes(32).toString('base64url');

/** The tenant's own key (the `secret` file of its data directory, made at first start). */
export const tenantSecret = (dataDir: string) =>
  Buffer.from(ensureSecretFile(dataDir, 'secret', newKey).value, 'base64url');

/** Setting names that hold a secret; `<name>Env` and `<name>File` give it from the environment or a file. */
const SECRET_KEYS = new Set(['password', 'token', 'tokens', 'key', 'clientSecret', 'secret', 'apiKey']);
/** Shorter values are not redacted: they would blank out ordinary words in log lines. */
const MIN_SECRET_LENGTH = 6;

/**
 * Every secret a config holds or points at: tokens, passwords, keys and client secrets, inline,
 * from environment variables and files, and passwords inside database URLs.
 */
export function secretsOf(config: unknown, env: NodeJS.ProcessEnv = process.env): string[] {
  const found: string[] = [];
  const baseDir = (config as { baseDir?: string } | null)?.baseDir ?? '.';
  const visit = (node: unknown, key?: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, key);
      return;
    }
    if (node && typeof node === 'object') {
      // Header values given from the environment or files are secrets, by the names of their headers.
      if (key === 'headersEnv' || key === 'headersFile') {
        for (const value of Object.values(node)) {
          if (typeof value !== 'string') continue;
          const secret = key === 'headersEnv' ? env[value] : readQuietly(resolve(baseDir, value));
          if (secret?.trim()) found.push(secret.trim());
        }
        return;
      }
      // tls holds the paths of the certificate files, not secrets.
      for (const [name, value] of Object.entries(node)) if (name !== 'tls') visit(value, name);
      return;
    }
    if (typeof node !== 'string' || key === undefined) return;
    if (SECRET_KEYS.has(key)) found.push(node);
    const base = key.replace(/(Env|File)$/, '');
    if (base !== key && SECRET_KEYS.has(base)) {
      const value = key.endsWith('Env') ? env[node] : readQuietly(resolve(baseDir, node));
      if (value) found.push(...value.split(/[\s,]+/));
    }
    if (key === 'url') {
      try {
        const password = decodeURIComponent(new URL(node).password);
        if (password) found.push(password);
      } catch {
        // not a URL: nothing in it to hide
      }
    }
  };
  visit(config);
  // Header sets hold their secrets as values under header names, which say nothing of secrecy.
  const tenants = (config as { tenants?: { auth?: { credentials?: Record<string, string>[] } }[] })?.tenants;
  for (const tenant of tenants ?? []) {
    for (const set of tenant.auth?.credentials ?? []) found.push(...Object.values(set));
  }
  return found;
}

function readQuietly(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined; // the part that uses the file reports it
  }
}

/** Replaces every known secret in a log line; new ones (a reloaded token file) can be added. */
export class Redactor {
  #secrets = new Set<string>();
  #pattern: RegExp | undefined;

  constructor(secrets: readonly string[] = []) {
    this.add(secrets);
  }

  add(secrets: readonly string[]): void {
    const before = this.#secrets.size;
    for (const secret of secrets) if (secret.length >= MIN_SECRET_LENGTH) this.#secrets.add(secret);
    if (this.#secrets.size === before) return;
    // Longest first, so a secret containing another is replaced whole; also as it appears in JSON.
    const forms = [...this.#secrets].flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]);
    const unique = [...new Set(forms)].sort((a, b) => b.length - a.length);
    this.#pattern = new RegExp(
      unique.map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
      'g',
    );
  }

  redact(line: string): string {
    return this.#pattern ? line.replace(this.#pattern, '[redacted]') : line;
  }
}
