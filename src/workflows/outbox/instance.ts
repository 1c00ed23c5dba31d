import { randomBytes } from 'node:crypto';
import { ensureSecretFile } from '../../secrets.js';

/**
 * The stable name of the instance that delivers a data directory's outbox, kept in
 * `<dataDir>/outbox-instance`. The embedded store is one service's (SQLite, on local disk): a
 * worker named after it knows at start that the leases of the same name were its earlier run's,
 * whose process is gone, and takes them back at once instead of waiting for them to run out.
 */
export function outboxInstance(dataDir: string): string {
  return ensureSecretFile(dataDir, 'outbox-instance', () => randomBytes(8).toString('hex')).value;
}
