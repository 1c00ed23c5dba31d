import {
  chmodSync,
  closeSync,
  fchmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

// The data directory holds contacts, calls and secrets: readable by callcard's user only, whatever
// the umask callcard was started with (`npm start` under the usual 022 would give 0644 files).

/** Creates the directory (and missing parents) 0700; one that exists keeps the mode it was given. */
export function ensurePrivateDir(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The mode is masked by the umask: set it again on what was just made.
  if (created !== undefined) chmodSync(created, 0o700);
  if (created !== undefined && created !== dir) chmodSync(dir, 0o700);
}

/**
 * Makes `file` 0600, creating it empty when missing (SQLite then fills it; it gives its -wal and -shm
 * files the database file's mode). An existing file made by an older version is tightened too.
 */
export function privateFile(file: string, options: { create?: boolean } = {}): void {
  let fd: number;
  try {
    fd = openSync(file, options.create === false ? 'r' : 'a', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && options.create === false) return;
    throw error;
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/**
 * Secrets callcard makes for itself and keeps in the data directory, readable by its owner only.
 * `created` tells whether this call made the file (first start).
 */
export function ensureSecretFile(dataDir: string, name: string, make: () => string) {
  ensurePrivateDir(dataDir);
  const file = join(dataDir, name);
  try {
    const value = readFileSync(file, 'utf8').trim();
    if (value !== '') {
      privateFile(file);
      return { file, value, created: false };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  privateFile(file);
  return { file, value, created: true };
}

/** A secret kept in the data directory, or undefined when there is none. */
export function readSecretFile(dataDir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dataDir, name), 'utf8').trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Keeps `value` as the secret `name` of the data directory in place of the one there: written
 * beside it (0600), then renamed over it, so that a reader sees the old value or the new, never half.
 */
export function writeSecretFile(dataDir: string, name: string, value: string): string {
  ensurePrivateDir(dataDir);
  const file = join(dataDir, name);
  const next = `${file}.${process.pid}.next`;
  writeFileSync(next, `${value}\n`, { mode: 0o600 });
  privateFile(next);
  renameSync(next, file);
  return file;
}
