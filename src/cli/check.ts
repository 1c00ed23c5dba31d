import type { Command } from 'commander';
import { wireNumber } from '../check/call.js';
import { type CheckOptions, DEFAULTS, runChecks } from '../check/checks.js';
import { collectHeaders, type HeaderFlags, parseRootUrl, UsageError } from '../check/options.js';
import { exitCodeOf, formatJson, formatText } from '../check/report.js';
import { exitOnUsageError, positiveInteger, usageError } from './flags.js';
import type { CommandIo } from './io.js';

// `callcard check URL`: conformance of any phone lookup service to the CONNECTOR API.

// No default list, so that help does not show "(default: [])".
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** The header flags `check` and `simulate` share. */
export function addHeaderOptions(command: Command): Command {
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

interface CheckFlags
  extends HeaderFlags,
    Pick<CheckOptions, 'workflow' | 'samples' | 'timeoutMs' | 'maxP95Ms' | 'warnP95Ms'> {
  // As typed (`+41 21 552 20 00`): the checks get their wire form.
  readonly number?: string;
  readonly missNumber?: string;
  readonly strict: boolean;
  readonly json: boolean;
}

/** Reads the URL and headers, or ends with exit code 2 saying what to write instead. */
export function readTarget(
  url: string,
  flags: HeaderFlags,
  command: Command,
  env: NodeJS.ProcessEnv,
): { root: string; headers: Record<string, string> } {
  try {
    return { root: parseRootUrl(url), headers: collectHeaders(flags, env) };
  } catch (error) {
    if (error instanceof UsageError) usageError(command, error.message);
    throw error;
  }
}

export async function checkCommand(
  url: string,
  flags: CheckFlags,
  command: Command,
  io: CommandIo,
): Promise<void> {
  const { root, headers } = readTarget(url, flags, command, io.env);
  const number = flags.number === undefined ? undefined : wireNumber(flags.number);
  const results = await runChecks({
    url: root,
    headers,
    ...(number !== undefined && { number }),
    ...(flags.missNumber !== undefined && { missNumber: wireNumber(flags.missNumber) }),
    ...(flags.workflow !== undefined && { workflow: flags.workflow }),
    ...(flags.samples !== undefined && { samples: flags.samples }),
    ...(flags.timeoutMs !== undefined && { timeoutMs: flags.timeoutMs }),
    ...(flags.maxP95Ms !== undefined && { maxP95Ms: flags.maxP95Ms }),
    ...(flags.warnP95Ms !== undefined && { warnP95Ms: flags.warnP95Ms }),
  });
  const context = {
    url: root,
    headerNames: Object.keys(headers),
    ...(number !== undefined && { number }),
    ...(flags.workflow !== undefined && { workflow: flags.workflow }),
  };
  io.stdout.write(flags.json ? formatJson(results, context, flags.strict) : formatText(results, context));
  io.exitCode = exitCodeOf(results, flags.strict);
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
      `lookups timed for the latency point (default ${DEFAULTS.samples})`,
      positiveInteger,
    )
    .option(
      '--timeout-ms <ms>',
      `time one request may take before it counts as no answer (default ${DEFAULTS.timeoutMs})`,
      positiveInteger,
    )
    .option(
      '--max-p95-ms <ms>',
      `latency fails when the 95th percentile is above this (default ${DEFAULTS.maxP95Ms})`,
      positiveInteger,
    )
    .option('--warn-p95-ms <ms>', `latency warns above this (default ${DEFAULTS.warnP95Ms})`, positiveInteger)
    .option('--strict', 'warnings fail too (exit 1)', false)
    .option('--json', 'print the results as JSON', false)
    .action((url: string, flags: CheckFlags, cmd: Command) => checkCommand(url, flags, cmd, io));
}
