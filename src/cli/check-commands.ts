import { type Command, InvalidArgumentError, Option } from 'commander';
import { CHECK_DEFAULTS, SIMULATE_DEFAULTS } from '../check/defaults.js';
import type { CheckFlags } from './check.js';
import { exitOnUsageError, positiveInteger } from './flags.js';
import type { CommandIo } from './io.js';
import type { SimulateFlags } from './simulate.js';

// `check` and `simulate` as the command line shows them; their code (check/) is imported when they run.

// No default list, so that help does not show "(default: [])".
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError('must be a whole number of at least 0');
  }
  return parsed;
}

/** The header flags `check` and `simulate` share. */
function addHeaderOptions(command: Command): Command {
  return command
    .option('-H, --header <header>', "a header the CONNECTOR sends, 'Name: value' (repeatable)", collect)
    .option(
      '--header-env <name=VAR>',
      'a header whose value is read from environment variable VAR, kept out of shell history (repeatable)',
      collect,
    )
    .option(
      '--header-file <name=FILE>',
      'a header whose value is read from a file, e.g. X-Execution-Token=data/token (repeatable)',
      collect,
    );
}

export function addCheckCommand(program: Command, io: CommandIo): void {
  const command = program
    .command('check')
    .description(
      'play the CONNECTOR against a phone lookup service (callcard or another) and report each point of the API; exit 1 on failures',
    )
    .argument('<url>', 'the root URL as entered in the CUSTOMER-PORTAL (the CONNECTOR calls <url>/Lookup)')
    .exitOverride(exitOnUsageError(io));
  addHeaderOptions(command)
    .option('--number <number>', 'a number that has a contact, as the CONNECTOR sends it (41215522000)')
    .option('--miss-number <number>', 'a number that has no contact (default 41215550199)')
    .option('--workflow <name>', 'also check this workflow, e.g. CallFlow (posts test calls to the service)')
    .option(
      '--samples <n>',
      `lookups timed for the latency point (default ${CHECK_DEFAULTS.samples})`,
      positiveInteger,
    )
    .option(
      '--timeout-ms <ms>',
      `time one request may take before it counts as no answer (default ${CHECK_DEFAULTS.timeoutMs})`,
      positiveInteger,
    )
    .option(
      '--max-p95-ms <ms>',
      `latency fails when the 95th percentile is above this (default ${CHECK_DEFAULTS.maxP95Ms})`,
      positiveInteger,
    )
    .option(
      '--warn-p95-ms <ms>',
      `latency warns above this (default ${CHECK_DEFAULTS.warnP95Ms})`,
      positiveInteger,
    )
    .option('--strict', 'warnings fail too (exit 1)', false)
    .option('--json', 'print the results as JSON', false)
    .action(async (url: string, flags: CheckFlags, cmd: Command) =>
      (await import('./check.js')).checkCommand(url, flags, cmd, io),
    );
}

export function addSimulateCommand(program: Command, io: CommandIo): void {
  const command = program
    .command('simulate')
    .description(
      'make one call as the CONNECTOR does: a Lookup of the other party, then the CallFlow with the call',
    )
    .argument('<url>', 'the root URL as entered in the CUSTOMER-PORTAL')
    .exitOverride(exitOnUsageError(io));
  addHeaderOptions(command)
    .requiredOption('--from <number>', 'the calling number (41215522000)')
    .requiredOption('--to <number>', 'the called number')
    .addOption(
      new Option('--direction <direction>', 'incoming: the caller is looked up; outgoing: the callee')
        .choices(['incoming', 'outgoing'])
        .default('incoming'),
    )
    .option('--user <id>', 'userCrmId: the CRM user of the phone that took or made the call')
    .option('--ring-ms <ms>', 'how long it rang', wholeNumber, SIMULATE_DEFAULTS.ringMs)
    .option(
      '--talk-seconds <s>',
      'how long the call lasted; 0 for a missed call',
      wholeNumber,
      SIMULATE_DEFAULTS.talkSeconds,
    )
    .option('--workflow <name>', 'the workflow to post the call to', SIMULATE_DEFAULTS.workflow)
    .option('--timeout-ms <ms>', 'time one request may take (default 5000)', positiveInteger)
    .option('--json', 'print the lookup and the workflow answer as JSON', false)
    .action(async (url: string, flags: SimulateFlags, cmd: Command) =>
      (await import('./simulate.js')).simulateCommand(url, flags, cmd, io),
    );
}
