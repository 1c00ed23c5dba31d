import type { Command, CommanderError } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { DeliveryStatus } from '../store/outbox-types.js';
import { parseIsoTime } from '../util/time.js';
import type { CliIo } from './io.js';

// ---------------------------------------------------------------------------------------------
// Shared by the journal and outbox commands.

/**
 * Commander errors (an unknown flag, a bad value, a missing argument) end the command with exit
 * code 2, as usage errors do; help still exits 0. Set on a command before its subcommands are added.
 */
export function exitOnUsageError(io: Pick<CliIo, 'exit'>): (error: CommanderError) => never {
  return (error) => io.exit(error.exitCode === 0 ? 0 : 2);
}

/** A usage error found after parsing (e.g. a number that is none): exit code 2. */
export function usageError(command: Command, message: string): never {
  return command.error(`error: ${message}`, { exitCode: 2, code: 'callcard.usage' });
}

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError('must be a whole number of at least 1');
  }
  return parsed;
}

/** ISO time to the second (truncated), in UTC. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// Reading the flags.

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_HELP = 'must be a date (2026-11-26) or an ISO date-time (2026-11-26T14:30, 2026-11-26T13:30:00Z)';

/**
 * A date from the command line, as the range it stands for: a date alone is that whole day, in
 * the local time zone; a date-time without a zone is local too; one with "Z" or an offset is exact.
 */
export function parseDateRange(value: string): { readonly start: number; readonly end: number } {
  const text = value.trim();
  const day = DATE_ONLY.exec(text);
  if (day) {
    const [year, month, date] = [Number(day[1]), Number(day[2]) - 1, Number(day[3])];
    const start = new Date(year, month, date);
    if (start.getFullYear() !== year || start.getMonth() !== month || start.getDate() !== date) {
      throw new InvalidArgumentError(DATE_HELP);
    }
    return { start: start.getTime(), end: new Date(year, month, date + 1).getTime() };
  }
  const ms = text.length > 10 ? parseIsoTime(text) : undefined;
  if (ms === undefined) throw new InvalidArgumentError(DATE_HELP);
  return { start: ms, end: ms + 1 };
}

/** `--from`: calls that started then or later. */
export const fromDate = (value: string): Date => new Date(parseDateRange(value).start);
/** `--to`: calls that started then or earlier; a date alone includes that whole day. */
export const toDate = (value: string): Date => new Date(parseDateRange(value).end);

/** The statuses `outbox --status` takes. */
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'running', 'done', 'dead'];
