/**
 * A worker process for the crash tests: `node --import tsx child.ts <dataDir> <targetUrl> [json options]`.
 * Delivers the outbox of the data directory to the target until SIGTERM (a graceful stop) or
 * SIGKILL (a crash). Prints "ready" once its worker runs.
 */
import pino from 'pino';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { outboxInstance } from '../../../src/workflows/outbox/instance.js';
import { createOutboxWorker } from '../../../src/workflows/outbox/worker.js';
import { httpAction } from '../../support/outbox.js';

const [dataDir, url, json] = process.argv.slice(2);
if (!dataDir || !url) throw new Error('usage: child.ts <dataDir> <targetUrl> [options]');
const options = JSON.parse(json ?? '{}') as {
  concurrency?: number;
  leaseMs?: number;
  attemptTimeoutMs?: number;
  /** Named after the data directory's instance, as the service's worker is (it then takes back its earlier run's leases). */
  instance?: boolean;
};

const store = openSqliteStore(dataDir);
const action = httpAction(url);
const worker = createOutboxWorker({
  store: store.outbox,
  actionFor: () => action,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  leaseMs: options.leaseMs ?? 1500,
  pollMs: 50,
  concurrency: options.concurrency ?? 2,
  backoff: { baseMs: 100, maxMs: 1000, factor: 2 },
  attemptTimeoutMs: options.attemptTimeoutMs ?? 1000,
  ...(options.instance && { instance: outboxInstance(dataDir) }),
});
worker.start();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void worker
    .stop()
    .then(() => action.close?.())
    .then(() => store.close())
    .then(() => process.exit(0));
});
