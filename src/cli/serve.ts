import { availableParallelism } from 'node:os';
import { loadConfig } from '../config/load.js';
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
  const root = config.publicUrl ?? address.replace('0.0.0.0', 'localhost');
  const base = `${root}${config.basePath === '/' ? '' : config.basePath}`;
  const header = config.auth.header;
  const lines = [
    '',
    `callcard is listening on ${address} (${config.sources.length} source(s), data in ${config.dataDir})`,
    ...(service.mirrors.size > 0
      ? [`  Mirroring ${[...service.mirrors.keys()].join(', ')}: first sync running`]
      : []),
    ...(metricsAddress ? [`  Prometheus metrics at ${metricsAddress}/metrics`] : []),
    '',
    '  In the peoplefone CUSTOMER-PORTAL, CONNECTOR settings:',
    `    Root URL:      ${base}   (use the address peoplefone reaches this machine at)`,
  ];
  if (service.generatedToken) {
    lines.push(
      `    Header name:   ${header}`,
      `    Header value:  ${service.generatedToken.value}`,
      '',
      `  The token was generated on this first start and is kept in ${service.generatedToken.file}.`,
    );
  } else if (service.tokenFile) {
    lines.push(`    Header name:   ${header}`, `    Header value:  the token in ${service.tokenFile}`);
  } else {
    lines.push('    Headers:       as configured (auth.tokens / auth.credentials)');
  }
  lines.push(
    '',
    `  Try it:  curl -s -X POST ${base}/Lookup -H '${header}: <token>' \\`,
    `             -H 'Content-Type: application/json' -d '{"inputs":{"phoneNumber":"41215522000"}}'`,
    '',
  );
  process.stderr.write(`${lines.join('\n')}\n`);

  const retention = startRetention(service.store.calls, config.journal.retentionDays, service.logger);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.logger.info({ signal }, 'stopping');
    await retention.stop();
    await service.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
