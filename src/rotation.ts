import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { reloadedCredentials, tokenFileOf } from './credentials.js';
import type { ServedTenants } from './served-tenants.js';
import { readTls, tlsFilesOf, watchFiles } from './tls.js';

/**
 * Token files and the TLS certificate read again: rotation without a restart. A tenant's tokens or a
 * certificate that cannot be read are logged and the previous ones stay. Returns the reload and what
 * stops watching the files (they are read again on their own when they change).
 */
export function rotation(
  config: Readonly<Config>,
  served: ServedTenants,
  apps: readonly FastifyInstance[],
  logger: Logger,
): { reload: () => void; unwatch: () => void } {
  const { credentials, auths, read } = served;
  const reload = () => {
    const refuse = (index: number, message: string) =>
      logger.error(
        { tenant: config.tenants[index]!.name, err: { message } },
        'tokens not reloaded; the previous ones stay',
      );
    for (const { index, credentials: fresh } of reloadedCredentials(
      config.tenants,
      credentials,
      (tenant) => read(tenant).credentials,
      refuse,
    )) {
      credentials[index] = fresh;
      auths[index]!.update(fresh);
    }
    try {
      const fresh = readTls(config);
      if (fresh) for (const app of apps) (app.server as unknown as TlsServer).setSecureContext(fresh);
    } catch (error) {
      logger.error(
        { err: { message: (error as Error).message } },
        'certificate not reloaded; the previous one stays',
      );
    }
  };
  const tlsFiles = tlsFilesOf(config);
  const unwatch = watchFiles(
    [
      ...config.tenants.flatMap((tenant) => tokenFileOf(tenant) ?? []),
      ...(tlsFiles ? [tlsFiles.cert, tlsFiles.key] : []),
    ],
    reload,
  );
  return { reload, unwatch };
}
