/**
 * One process of the two-process refresh test: opens the tenant's store and the `crm` connection,
 * says `ready`, waits for a line on stdin, asks for the connection's headers once and prints them
 * as JSON. Each time it waits for another process's refresh it prints `waiting`.
 */
import pino from 'pino';
import { loadTenant } from '../../src/cli/load.js';
import { createConnections } from '../../src/oauth/connections.js';
import { createSealer } from '../../src/oauth/sealing.js';
import { connectionsOf } from '../../src/oauth/settings.js';
import { tenantSecret } from '../../src/secrets.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const [file] = process.argv.slice(2);
const { tenant } = loadTenant({ config: file! }, { env: process.env, cwd: process.cwd() });
const store = openSqliteStore(tenant.dataDir);
let told = false;
const connections = createConnections({
  store: store.credentials,
  sealer: createSealer(tenantSecret(tenant.dataDir)),
  logger: pino({ level: 'silent' }),
  waitMs: 20,
  onWait: () => {
    if (!told) process.stdout.write('waiting\n');
    told = true;
  },
});
const auth = connections.auth(
  connectionsOf(tenant).get('crm')!,
  { baseDir: process.cwd(), env: process.env },
  10_000,
);
process.stdout.write('ready\n');
process.stdin.once('data', async () => {
  try {
    const headers = await auth.headers(AbortSignal.timeout(60_000));
    process.stdout.write(`${JSON.stringify(headers)}\n`);
  } catch (error) {
    process.stdout.write(`failed: ${(error as Error).message}\n`);
  } finally {
    await store.close();
    process.stdin.destroy();
  }
});
