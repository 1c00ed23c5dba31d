import { type Command, InvalidArgumentError, Option } from 'commander';
import { wireNumber } from '../check/call.js';
import { hider } from '../check/http.js';
import type { HeaderFlags } from '../check/options.js';
import type { Finding } from '../check/shape.js';
import { SIMULATE_DEFAULTS, type Simulation, simulateCall } from '../check/simulate.js';
import { addHeaderOptions, readTarget } from './check.js';
import { exitOnUsageError, positiveInteger } from './flags.js';
import type { CommandIo } from './io.js';

// `callcard simulate URL --from N --to M`: one call as the CONNECTOR makes it, Lookup then CallFlow.

function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError('must be a whole number of at least 0');
  }
  return parsed;
}

interface SimulateFlags extends HeaderFlags {
  readonly from: string;
  readonly to: string;
  readonly direction: 'incoming' | 'outgoing';
  readonly user?: string;
  readonly ringMs: number;
  readonly talkSeconds: number;
  readonly workflow: string;
  readonly timeoutMs?: number;
  readonly json: boolean;
}

const printable = (text: string) => text.replace(/\p{Cc}+/gu, ' ');
const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

function findingLines(findings: readonly Finding[]): string[] {
  return findings.flatMap((f) => [
    `  ${f.level === 'fail' ? 'FAIL' : 'WARN'}  ${f.detail}`,
    `        → ${f.advice}`,
  ]);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function formatSimulation(simulation: Simulation, flags: Pick<SimulateFlags, 'direction'>): string {
  const { lookup, workflow } = simulation;
  const { inputs } = workflow;
  const lines = [
    `${flags.direction === 'incoming' ? 'Incoming' : 'Outgoing'} call from ${inputs['originatorNumber']} to ${inputs['destinationNumber']}`,
    '',
    `Lookup ${lookup.number}: ${lookup.status ?? 'no answer'} in ${ms(lookup.ms)}, ${lookup.contacts.length} contact(s)`,
  ];
  lookup.contacts.forEach((contact, i) => {
    if (typeof contact !== 'object' || contact === null) return;
    const card = contact as Record<string, unknown>;
    const title = [text(card['name']), text(card['company'])].filter(Boolean).join(', ') || '(no name)';
    const about = [text(card['id']) && `id ${card['id']}`, text(card['crmName'])].filter(Boolean).join(', ');
    lines.push(`  ${i + 1}. ${title}${about ? ` (${about})` : ''}`);
    for (const field of ['contactUri', 'companyUri'] as const) {
      if (text(card[field])) lines.push(`     ${field}: ${card[field]}`);
    }
    const data = card['customData'];
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
      for (const [key, value] of Object.entries(data)) lines.push(`     ${key}: ${String(value)}`);
    }
    if (Array.isArray(card['crmActions']))
      lines.push(`     actions: ${card['crmActions'].join(', ') || '(none)'}`);
  });
  lines.push(...findingLines(lookup.findings), '');
  const times = [
    `started ${inputs['startedTime']}`,
    inputs['answeredTime'] ? `answered ${inputs['answeredTime']}` : `declined ${inputs['declinedTime']}`,
    `ended ${inputs['endedTime']}`,
  ];
  lines.push(`${workflow.name} (${times.join(', ')}; contactCrmId ${inputs['contactCrmId'] || '(none)'})`);
  lines.push(`  answered ${workflow.status ?? 'nothing'} in ${ms(workflow.ms)}`);
  if (workflow.id !== undefined) lines.push(`  id:  ${workflow.id}`);
  if (workflow.url !== undefined) lines.push(`  url: ${workflow.url}`);
  if (workflow.body !== undefined) lines.push(`  body: ${workflow.body}`);
  lines.push(...findingLines(workflow.findings));
  return `${lines.map(printable).join('\n')}\n`;
}

export async function simulateCommand(
  url: string,
  flags: SimulateFlags,
  command: Command,
  io: CommandIo,
): Promise<void> {
  const { root, headers } = readTarget(url, flags, command, io.env);
  const simulation = await simulateCall({
    url: root,
    headers,
    from: wireNumber(flags.from),
    to: wireNumber(flags.to),
    direction: flags.direction,
    ...(flags.user !== undefined && { user: flags.user }),
    ringMs: flags.ringMs,
    talkSeconds: flags.talkSeconds,
    workflow: flags.workflow,
    ...(flags.timeoutMs !== undefined && { timeoutMs: flags.timeoutMs }),
  });
  // A service may echo a header back in an answer; it never reaches the output.
  const hide = hider(Object.values(headers));
  const output = flags.json
    ? `${JSON.stringify(simulation, null, 2)}\n`
    : formatSimulation(simulation, flags);
  io.stdout.write(hide(output));
  if (!simulation.ok) io.exitCode = 1;
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
    .action((url: string, flags: SimulateFlags, cmd: Command) => simulateCommand(url, flags, cmd, io));
}
