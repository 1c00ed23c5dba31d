import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { DEFAULT_ADMIN_HOST, DEFAULT_METRICS_HOST, pathPrefix } from '../config/schema.js';
import { storeLocation } from '../core/open-store.js';
import { createService } from '../main.js';
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
  const load = () =>
    loadConfig({
      ...(options.config !== undefined && { file: options.config }),
      env: io.env,
      cwd: io.cwd,
      overrides: { port: options.port, host: options.host },
    });
  const config = load();
  const file = options.config ?? io.env['CALLCARD_CONFIG'];
  const service = await createService(config, {
    startSync: true,
    startDelivery: true,
    workers: Math.min(2, availableParallelism()),
    retention: true,
    // The file is read again when it changes and on SIGHUP: tenants come and go without a restart.
    ...(file && { configFile: { path: resolve(io.cwd ?? process.cwd(), file), load } }),
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
  let consoles: Listener | undefined;
  if (service.consoleApp && config.admin.port !== undefined) {
    await service.consoleApp.listen({
      port: config.admin.port,
      host: config.admin.host ?? DEFAULT_ADMIN_HOST,
    });
    consoles = listenerOf(service.consoleApp.server.address(), config.tls !== undefined);
  }
  const lines = [
    '',
    `callcard is listening on ${main.where}, ${config.tls ? 'HTTPS' : 'plain HTTP'}` +
      (service.tenants.length > 1 ? ` for ${service.tenants.length} tenants` : ''),
    ...(metrics ? [`  Prometheus metrics at ${metrics.url}/metrics: ${metrics.where}, plain HTTP`] : []),
    ...(consoles ? [`  Consoles on their own port: ${consoles.where}`] : []),
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
      `  Console: ${(consoles ?? main).url}${pathPrefix(settings.basePath)}/admin   (off until callcard admin add NAME)`,
      `  Try it:  curl -s -X POST ${base}/Lookup -H '${header}: <token>' \\`,
      `             -H 'Content-Type: application/json' -d '{"inputs":{"phoneNumber":"41215522000"}}'`,
    );
  }
  io.stderr.write(`${lines.join('\n')}\n\n`);

  // SIGHUP: token files, the certificate and the config file are read again at once (they are
  // also watched).
  process.on('SIGHUP', () => {
    service.logger.info(
      file ? 'reloading tokens, certificate and configuration' : 'reloading tokens and certificate',
    );
    void service.reload();
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.logger.info({ signal }, 'stopping');
    await service.close();
    io.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
