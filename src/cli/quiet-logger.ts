import type { Config } from '../config/schema.js';
import { createLogger } from '../logging.js';
import type { CliIo } from './io.js';

/** Commands print their own results: the service log goes to stderr, warnings and worse only. */
export function quietLogger(config: Readonly<Config>, io: Pick<CliIo, 'stderr' | 'env'>) {
  const level = config.log.level === 'debug' || config.log.level === 'trace' ? config.log.level : 'warn';
  return createLogger(
    { ...config, log: { level } },
    { destination: { write: (line: string) => void io.stderr.write(line) }, env: io.env },
  );
}
