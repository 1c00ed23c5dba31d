import type { Command } from 'commander';
import { wireNumber } from '../check/call.js';
import { hider } from '../check/http.js';
import type { HeaderFlags } from '../check/options.js';
import type { Finding } from '../check/shape.js';
import { type Simulation, simulateCall } from '../check/simulate.js';
import { readTarget } from './check.js';
import type { CommandIo } from './io.js';

// `callcard simulate URL --from N --to M`: one call as the CONNECTOR makes it, Lookup then CallFlow.

export interface SimulateFlags extends HeaderFlags {
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
