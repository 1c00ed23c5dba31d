import { availableParallelism } from 'node:os';
import { loadConfig } from '../config/load.js';
import { pathPrefix } from '../config/schema.js';
import { createService } from '../main.js';
import { startRetention } from '../workflows/retention.js';

export interface ServeOptions {
  readonly config?: string;
  readonly port?: number;
  readonly host?: string;
}

export async function serveCommand(options: ServeOptions): Promise<void> {
  const config = loadConfig({
    ...(options.config !== undefined && { file: options.config }),
    overrides: { port: options.port, host: options.host },
  });
  const service = await createService(config, {
    startSync: true,
    startDelivery: true,
    workers: Math.min(2, availableParallelism()),
  });
  const address = await service.app.listen({ port: config.port, host: config.host });
  const metricsAddress =
    service.metricsApp && config.metrics.port !== undefined
      ? await service.metricsApp.listen({ port: config.metrics.port, host: config.host })
      : undefined;
  const lines = [
    '',
    `callcard is listening on ${address}${config.tls ? ' (HTTPS)' : ''}` +
      (service.tenants.length > 1 ? ` for ${service.tenants.length} tenants` : ''),
    ...(metricsAddress ? [`  Prometheus metrics at ${metricsAddress}/metrics`] : []),
  ];
  for (const tenant of service.tenants) {
    const settings = tenant.tenant;
    const root = settings.publicUrl ?? address.replace('0.0.0.0', 'localhost');
    const base = `${root}${pathPrefix(settings.basePath)}`;
    const header = settings.auth.header;
    lines.push(
      '',
      ...(service.tenants.length > 1 ? [`Tenant ${settings.name}:`] : []),
      `  ${settings.sources.length} source(s), data in ${settings.dataDir}`,
      ...(tenant.mirrors.size > 0
        ? [`  Mirroring ${[...tenant.mirrors.keys()].join(', ')}: first sync running`]
        : []),
      '  In the peoplefone CUSTOMER-PORTAL, CONNECTOR settings:',
      `    Root URL:      ${base}   (use the address peoplefone reaches this machine at)`,
    );
    if (tenant.generatedToken) {
      lines.push(
        `    Header name:   ${header}`,
        `    Header value:  ${tenant.generatedToken.value}`,
        `  The token was generated on this first start and is kept in ${tenant.generatedToken.file}.`,
      );
    } else if (tenant.tokenFile) {
      lines.push(`    Header name:   ${header}`, `    Header value:  the token in ${tenant.tokenFile}`);
    } else {
      lines.push(
        '    Headers:       as configured (auth.tokens, auth.tokenFile, auth.tokenEnv, auth.credentials)',
      );
    }
    lines.push(
      `  Try it:  curl -s -X POST ${base}/Lookup -H '${header}: <token>' \\`,
      `             -H 'Content-Type: application/json' -d '{"inputs":{"phoneNumber":"41215522000"}}'`,
    );
  }
  process.stderr.write(`${lines.join('\n')}\n\n`);

  const retentions = service.tenants.map((tenant) =>
    startRetention(tenant.store.calls, tenant.tenant.journal.retentionDays, tenant.logger, {
      outbox: { store: tenant.store.outbox, days: tenant.tenant.delivery.retentionDays },
    }),
  );

  // SIGHUP: token files and the certificate are read again at once (they are also watched).
  process.on('SIGHUP', () => {
    service.logger.info('reloading tokens and certificate');
    service.reload();
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.logger.info({ signal }, 'stopping');
    await Promise.all(retentions.map((retention) => retention.stop()));
    await service.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
