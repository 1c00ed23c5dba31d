import type { Config } from '../config/schema.js';
import { createLogger } from '../logging.js';
import type { CliIo } from './io.js';

// What the commands share to print: tables and a log that stays out of their output.

/** Control characters (new lines, terminal escapes) never reach the terminal from stored text. */
function printable(text: string): string {
  return text.replace(/\p{Cc}+/gu, ' ');
}

export function table(rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map(printable));
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Commands print their own results: the service log goes to stderr, warnings and worse only. */
export function quietLogger(config: Readonly<Config>, io: Pick<CliIo, 'stderr' | 'env'>) {
  const level = config.log.level === 'debug' || config.log.level === 'trace' ? config.log.level : 'warn';
  return createLogger(
    { ...config, log: { level } },
    { destination: { write: (line: string) => void io.stderr.write(line) }, env: io.env },
  );
}
