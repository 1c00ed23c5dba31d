import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { Redactor, secretsOf } from './secrets.js';

/** Each logger's redactor, so secrets read later (a reloaded token file) are hidden by it too. */
const redactors = new WeakMap<Logger, Redactor>();

/**
 * The service's logger. Every line is written through the redactor, so no configured secret
 * (token, password, API key) reaches the log, whatever the message that carries it.
 */
export function createLogger(
  config: Readonly<Pick<Config, 'log' | 'tenants' | 'metrics'>>,
  options: { readonly destination?: DestinationStream; readonly env?: NodeJS.ProcessEnv } = {},
): Logger {
  const redactor = new Redactor(secretsOf(config, options.env));
  const logger = pino(
    {
      level: config.log.level,
      base: { service: 'callcard' },
      hooks: { streamWrite: (line) => redactor.redact(line) },
    },
    // Written asynchronously: lines logged while a write is under way go out together, in one
    // system call, instead of one blocking write each (pino flushes what is left when the process exits).
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  redactors.set(logger, redactor);
  return logger;
}

/** The redactor of a logger made by createLogger: secrets read later are added to it. */
export const redactorOf = (logger: Logger): Redactor | undefined => redactors.get(logger);
