import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Secrets callcard makes for itself and keeps in the data directory, readable by its owner only.
 * `created` tells whether this call made the file (first start).
 */
export function ensureSecretFile(dataDir: string, name: string, make: () => string) {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, name);
  try {
    const value = readFileSync(file, 'utf8').trim();
    if (value !== '') return { file, value, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return { file, value, created: true };
}

export const newToken = () => randomBytes(24).toString('base64url');
export const newKey = () => randomBytes(32).toString('base64url');
