import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { loadConfig } from '../config/load.js';
import { DEFAULT_METRICS_HOST, pathPrefix } from '../config/schema.js';
import { storeLocation } from '../core/open-store.js';
import { createService } from '../main.js';
import { startRetention } from '../workflows/retention.js';
import type { CommandIo } from './io.js';

export interface ServeOptions {
  readonly config?: string;
  readonly port?: number;
  readonly host?: string;
}

interface Listener {
  /** Where it can be reached from, said plainly. */
  readonly where: string;
  /** A URL to reach it from this machine. */
  readonly url: string;
}

/** What a listening socket really exposes: every interface, this machine only, or one address. */
export function listenerOf(address: AddressInfo | string | null, tls: boolean): Listener {
  if (address === null || typeof address === 'string') return { where: String(address), url: '' };
  const scheme = tls ? 'https' : 'http';
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const everywhere = address.address === '0.0.0.0' || address.address === '::';
  const loopback = /^127\./.test(address.address) || address.address === '::1';
  const where = everywhere
    ? `${host}:${address.port} (every network interface of this machine)`
    : `${host}:${address.port}${loopback ? ' (this machine only)' : ''}`;
  return { where, url: `${scheme}://${everywhere ? 'localhost' : host}:${address.port}` };
}

export async function serveCommand(options: ServeOptions, io: CommandIo): Promise<void> {
  const config = loadConfig({
    ...(options.config !== undefined && { file: options.config }),
    env: io.env,
    cwd: io.cwd,
    overrides: { port: options.port, host: options.host },
  });
  const service = await createService(config, {
    startSync: true,
    startDelivery: true,
    workers: Math.min(2, availableParallelism()),
  });
  await service.app.listen({ port: config.port, host: config.host });
  const main = listenerOf(service.app.server.address(), config.tls !== undefined);
  let metrics: Listener | undefined;
  if (service.metricsApp && config.metrics.port !== undefined) {
    await service.metricsApp.listen({
      port: config.metrics.port,
      host: config.metrics.host ?? DEFAULT_METRICS_HOST,
    });
    metrics = listenerOf(service.metricsApp.server.address(), false);
  }
  const lines = [
    '',
    `callcard is listening on ${main.where}, ${config.tls ? 'HTTPS' : 'plain HTTP'}` +
      (service.tenants.length > 1 ? ` for ${service.tenants.length} tenants` : ''),
    ...(metrics ? [`  Prometheus metrics at ${metrics.url}/metrics: ${metrics.where}, plain HTTP`] : []),
  ];
  for (const tenant of service.tenants) {
    const settings = tenant.tenant;
    const root = settings.publicUrl ?? main.url;
    const base = `${root}${pathPrefix(settings.basePath)}`;
    const header = settings.auth.header;
    lines.push(
      '',
      ...(service.tenants.length > 1 ? [`Tenant ${settings.name}:`] : []),
      `  ${settings.sources.length} source(s), data in ${storeLocation(settings)}`,
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
        `  The token was generated on this first start and is kept in ${tenant.generatedToken.keptIn}.`,
      );
    } else if (tenant.tokenFile) {
      lines.push(`    Header name:   ${header}`, `    Header value:  the token in ${tenant.tokenFile}`);
    } else if (tenant.tokenKeptIn) {
      lines.push(
        `    Header name:   ${header}`,
        `    Header value:  the token generated on the first start, kept in ${tenant.tokenKeptIn}`,
      );
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
  io.stderr.write(`${lines.join('\n')}\n\n`);

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
    io.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
