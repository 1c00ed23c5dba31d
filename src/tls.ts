import { readFileSync, type Stats, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from './config/schema.js';

/** The certificate and key files, as read: relative to the config's folder. */
export function tlsFilesOf(config: Readonly<Pick<Config, 'tls' | 'baseDir'>>) {
  if (!config.tls) return undefined;
  const base = config.baseDir ?? '.';
  return { cert: resolve(base, config.tls.cert), key: resolve(base, config.tls.key) };
}

/** The certificate and key, read now; undefined without `tls`. */
export function readTls(config: Readonly<Pick<Config, 'tls' | 'baseDir'>>) {
  const files = tlsFilesOf(config);
  return files && { cert: readFileSync(files.cert), key: readFileSync(files.key) };
}

/** How often token files and certificates are looked at for changes (SIGHUP reloads at once). */
const WATCH_INTERVAL_MS = 5000;

type FileState = Pick<Stats, 'mtimeMs' | 'ctimeMs' | 'size' | 'ino'>;

/**
 * Whether a file changed between two looks. The time alone is not enough: file times move in the
 * kernel's clock ticks (several milliseconds), so a file written twice within one tick (a token file
 * rewritten at once, or a new file renamed over the old one) keeps its time.
 */
export function fileChanged(current: FileState, previous: FileState): boolean {
  return (
    current.mtimeMs !== previous.mtimeMs ||
    current.ctimeMs !== previous.ctimeMs ||
    current.size !== previous.size ||
    current.ino !== previous.ino
  );
}

/** Calls `onChange` when one of the files is modified; returns what stops watching. */
export function watchFiles(files: readonly string[], onChange: () => void): () => void {
  const listener = (current: Stats, previous: Stats) => {
    if (fileChanged(current, previous)) onChange();
  };
  for (const file of files) watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: false }, listener);
  return () => {
    for (const file of files) unwatchFile(file, listener);
  };
}
