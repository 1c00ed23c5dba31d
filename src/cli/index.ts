#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/load.js';
import {
  callsCommand,
  exitOnUsageError,
  fromDate,
  positiveInteger,
  purgeCallsCommand,
  toDate,
} from './calls.js';
import { addCheckCommand } from './check.js';
import { configCheckCommand } from './config-check.js';
import { healthCommand } from './health.js';
import { importCommand } from './import.js';
import { DELIVERY_STATUSES, dropDeliveryCommand, outboxCommand, retryDeliveryCommand } from './outbox.js';
import { serveCommand } from './serve.js';
import { addSimulateCommand } from './simulate.js';
import { lookupCommand, sourcesCommand, syncCommand } from './sources.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('must be a whole number');
  return parsed;
}

const program = new Command('callcard')
  .description('Phone lookup service for the peoplefone CONNECTOR')
  .option('-c, --config <file>', 'YAML config file (default: $CALLCARD_CONFIG)')
  .option('-t, --tenant <name>', 'with several tenants: the one a command works on')
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('serve the CONNECTOR API')
  .option('-p, --port <port>', 'port to listen on (default 8080, $CALLCARD_PORT)', integer)
  .option('--host <host>', 'address to listen on (default 0.0.0.0, $CALLCARD_HOST)')
  .action((options) => serveCommand({ ...program.opts(), ...options }));

program
  .command('health')
  .description("ask this machine's callcard for /healthz (HTTPS when tls is set); exit 0 when it is up")
  .action(() => healthCommand(program.opts()));

program
  .command('import')
  .description('load contacts from CSV or vCard (.vcf) files into the embedded store')
  .argument('<files...>', 'CSV files with a header row, or vCard 3/4 files')
  .option('--replace', 'replace all contacts of the source instead of updating them by id', false)
  .option('--source <name>', 'embedded source to load into (default: the first one configured)')
  .option('--region <code>', 'region that national numbers are read in, for rows without a country')
  .action((files: string[], options) => importCommand(files, { ...program.opts(), ...options }));

program
  .command('sources')
  .description('list sources: mode, contacts in the index, last sync and its errors')
  .action(() => sourcesCommand(program.opts()));

program
  .command('sync')
  .description('mirror sources into the local index now')
  .argument('[source]', 'one mirrored source (default: all)')
  .option('--full', 'list everything again, removing contacts deleted in the source', false)
  .action((source: string | undefined, options) => syncCommand(source, { ...program.opts(), ...options }));

program
  .command('lookup')
  .description('look a number up as the CONNECTOR would, and print the answer')
  .argument('<number>', 'the number, e.g. 41215522000')
  .option('--explain', 'show what each source was asked, what it returned, what was dropped and why', false)
  .action((number: string, options) => lookupCommand(number, { ...program.opts(), ...options }));

const calls = program
  .command('calls')
  .description('list the call journal, newest first; phone numbers masked unless --show-numbers')
  .exitOverride(exitOnUsageError)
  .option('--from <date>', 'calls that started then or later (2026-11-26, 2026-11-26T14:30, ...Z)', fromDate)
  .option('--to <date>', 'calls that started then or earlier; a date alone includes the whole day', toDate)
  .addOption(
    new Option('--direction <direction>', 'incoming or outgoing calls only').choices([
      'incoming',
      'outgoing',
    ]),
  )
  .option('--contact <id>', 'calls with this CRM contact id (contactCrmId)')
  .option('--number <number>', 'calls from or to this number, in any form (41215522000, 021 552 20 00)')
  .addOption(new Option('--status <status>', 'answered or missed calls only').choices(['answered', 'missed']))
  .option('--limit <n>', 'at most this many calls (default 50; with --csv, all)', positiveInteger)
  .option('--show-numbers', 'show phone numbers in full, as the CONNECTOR sent them', false)
  .option('--csv', 'write CSV (RFC 4180, header row, ISO times) instead of a table', false)
  .action((options, command: Command) => callsCommand({ ...program.opts(), ...options }, command));

calls
  .command('purge')
  .description('remove calls older than journal.retentionDays now')
  .option('--days <n>', 'remove calls older than this many days instead', positiveInteger)
  .action((options, command: Command) => purgeCallsCommand({ ...program.opts(), ...options }, command));

const outbox = program
  .command('outbox')
  .description("list the workflows' deliveries (never their payloads), in queue order")
  .exitOverride(exitOnUsageError)
  .addOption(new Option('--status <status>', 'deliveries with this status only').choices(DELIVERY_STATUSES))
  .option('--limit <n>', 'at most this many deliveries (default 50)', positiveInteger)
  .action((options) => outboxCommand({ ...program.opts(), ...options }));

outbox
  .command('retry')
  .description('try a dead or pending delivery again at once, its attempts reset')
  .argument('<id>', 'the delivery id, as listed')
  .action((id: string) => retryDeliveryCommand(id, program.opts()));

outbox
  .command('drop')
  .description('remove a delivery that is not running')
  .argument('<id>', 'the delivery id, as listed')
  .action((id: string) => dropDeliveryCommand(id, program.opts()));

program
  .command('config')
  .description('configuration tools')
  .command('check')
  .description('validate a config file (and the environment it would run with) without starting')
  .argument('<file>', 'YAML config file')
  .action((file: string) => configCheckCommand(file));

addCheckCommand(program);
addSimulateCommand(program);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`callcard: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`callcard: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
