import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { loadConfig } from '../config/load.js';
import type { CommandIo } from './io.js';

export interface HealthOptions {
  readonly config?: string;
}

/** How long the probe waits for `/healthz`. */
const TIMEOUT_MS = 4000;

/** The address to ask on this machine: a wildcard listener is asked on loopback. */
function localHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/**
 * `callcard health`: asks this machine's callcard for `/healthz`, over HTTPS when `tls` is set, as
 * `serve` reads its settings (config file and environment). For container health checks: exits 0
 * when it answers 200, else 1. The certificate is not checked: it is issued for the public name,
 * and this probe sends nothing secret to its own machine.
 */
export async function healthCommand(options: HealthOptions, io: CommandIo): Promise<void> {
  const config = loadConfig({
    ...(options.config !== undefined && { file: options.config }),
    env: io.env,
    cwd: io.cwd,
  });
  const request = config.tls ? httpsRequest : httpRequest;
  const status = await new Promise<number | string>((resolve) => {
    const req = request(
      {
        host: localHost(config.host),
        port: config.port,
        path: '/healthz',
        method: 'GET',
        timeout: TIMEOUT_MS,
        ...(config.tls && { rejectUnauthorized: false }),
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 'no status');
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (error) => resolve((error as NodeJS.ErrnoException).code ?? error.message));
    req.end();
  });
  const url = `${config.tls ? 'https' : 'http'}://${localHost(config.host)}:${config.port}/healthz`;
  if (status === 200) {
    io.stdout.write(`${url}: ok\n`);
    return;
  }
  io.stderr.write(`callcard: ${url}: ${typeof status === 'number' ? `answered ${status}` : status}\n`);
  io.exit(1);
}
