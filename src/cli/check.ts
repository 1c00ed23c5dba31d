import type { Command } from 'commander';
import { wireNumber } from '../check/call.js';
import { type CheckOptions, runChecks } from '../check/checks.js';
import { collectHeaders, type HeaderFlags, parseRootUrl, UsageError } from '../check/options.js';
import { exitCodeOf, formatJson, formatText } from '../check/report.js';
import { usageError } from './flags.js';
import type { CommandIo } from './io.js';

// `callcard check URL`: conformance of any phone lookup service to the CONNECTOR API.

export interface CheckFlags
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
