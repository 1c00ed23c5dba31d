import { Command, InvalidArgumentError, Option } from 'commander';
import { CallcardError } from '../errors.js';
import { addCheckCommand, addSimulateCommand } from './check-commands.js';
import { DELIVERY_STATUSES, exitOnUsageError, fromDate, positiveInteger, toDate } from './flags.js';
import { CliExit, type CliIo, type CommandIo } from './io.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('must be a whole number');
  return parsed;
}

/**
 * The command line, writing to and exiting through `io`. Each command's module is imported when the
 * command runs, so `callcard calls` loads the store it reads and not the HTTP server or the drivers.
 */
export function buildProgram(io: CommandIo): Command {
  const program = new Command('callcard')
    .description('Phone lookup service for the peoplefone CONNECTOR')
    .option('-c, --config <file>', 'YAML config file (default: $CALLCARD_CONFIG)')
    .option('-t, --tenant <name>', 'with several tenants: the one a command works on')
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
    })
    .exitOverride((error) => io.exit(error.exitCode))
    .showHelpAfterError();
  const global = () => program.opts<{ config?: string; tenant?: string }>();

  program
    .command('serve', { isDefault: true })
    .description('serve the CONNECTOR API')
    .option('-p, --port <port>', 'port to listen on (default 8080, $CALLCARD_PORT)', integer)
    .option('--host <host>', 'address to listen on (default 0.0.0.0, $CALLCARD_HOST)')
    .action(async (options) => (await import('./serve.js')).serveCommand({ ...global(), ...options }, io));

  program
    .command('health')
    .description("ask this machine's callcard for /healthz (HTTPS when tls is set); exit 0 when it is up")
    .action(async () => (await import('./health.js')).healthCommand(global(), io));

  program
    .command('import')
    .description('load contacts from CSV or vCard (.vcf) files into the embedded store')
    .argument('<files...>', 'CSV files with a header row, or vCard 3/4 files')
    .option('--replace', 'replace all contacts of the source instead of updating them by id', false)
    .option('--source <name>', 'embedded source to load into (default: the first one configured)')
    .option('--region <code>', 'region that national numbers are read in, for rows without a country')
    .action(async (files: string[], options) =>
      (await import('./import.js')).importCommand(files, { ...global(), ...options }, io),
    );

  program
    .command('sources')
    .description('list sources: mode, contacts in the index, last sync and its errors')
    .action(async () => (await import('./sources.js')).sourcesCommand(global(), io));

  program
    .command('connect')
    .description("ask a person's consent for an OAuth connection and keep its tokens, encrypted")
    .argument('<name>', 'the connection: a source with auth type oauth2Code, or an auth.connection')
    .option('--device', "the device flow: a code to enter on the authorization server's page", false)
    .option('--timeout <seconds>', 'how long to wait for the consent (default 600)', positiveInteger)
    .action(async (name: string, options) =>
      (await import('./connect.js')).connectCommand(name, { ...global(), ...options }, io),
    );

  program
    .command('sync')
    .description('mirror sources into the local index now')
    .argument('[source]', 'one mirrored source (default: all)')
    .option('--full', 'list everything again, removing contacts deleted in the source', false)
    .action(async (source: string | undefined, options) =>
      (await import('./sources.js')).syncCommand(source, { ...global(), ...options }, io),
    );

  program
    .command('lookup')
    .description('look a number up as the CONNECTOR would, and print the answer')
    .argument('<number>', 'the number, e.g. 41215522000')
    .option('--explain', 'show what each source was asked, what it returned, what was dropped and why', false)
    .action(async (number: string, options) =>
      (await import('./sources.js')).lookupCommand(number, { ...global(), ...options }, io),
    );

  const calls = program
    .command('calls')
    .description('list the call journal, newest first; phone numbers masked unless --show-numbers')
    .exitOverride(exitOnUsageError(io))
    .option(
      '--from <date>',
      'calls that started then or later (2026-11-26, 2026-11-26T14:30, ...Z)',
      fromDate,
    )
    .option('--to <date>', 'calls that started then or earlier; a date alone includes the whole day', toDate)
    .addOption(
      new Option('--direction <direction>', 'incoming or outgoing calls only').choices([
        'incoming',
        'outgoing',
      ]),
    )
    .option('--contact <id>', 'calls with this CRM contact id (contactCrmId)')
    .option('--number <number>', 'calls from or to this number, in any form (41215522000, 021 552 20 00)')
    .addOption(
      new Option('--status <status>', 'answered or missed calls only').choices(['answered', 'missed']),
    )
    .option('--limit <n>', 'at most this many calls (default 50; with --csv, all)', positiveInteger)
    .option('--show-numbers', 'show phone numbers in full, as the CONNECTOR sent them', false)
    .option('--csv', 'write CSV (RFC 4180, header row, ISO times) instead of a table', false)
    .action(async (options, command: Command) =>
      (await import('./calls.js')).callsCommand({ ...global(), ...options }, command, io),
    );

  calls
    .command('purge')
    .description('remove calls older than journal.retentionDays now')
    .option('--days <n>', 'remove calls older than this many days instead', positiveInteger)
    .action(async (options, command: Command) =>
      (await import('./calls.js')).purgeCallsCommand({ ...global(), ...options }, command, io),
    );

  const outbox = program
    .command('outbox')
    .description("list the workflows' deliveries (never their payloads), in queue order")
    .exitOverride(exitOnUsageError(io))
    .addOption(new Option('--status <status>', 'deliveries with this status only').choices(DELIVERY_STATUSES))
    .option('--limit <n>', 'at most this many deliveries (default 50)', positiveInteger)
    .action(async (options) => (await import('./outbox.js')).outboxCommand({ ...global(), ...options }, io));

  outbox
    .command('retry')
    .description('try a dead or pending delivery again at once, its attempts reset')
    .argument('<id>', 'the delivery id, as listed')
    .action(async (id: string) => (await import('./outbox.js')).retryDeliveryCommand(id, global(), io));

  outbox
    .command('drop')
    .description('remove a delivery that is not running')
    .argument('<id>', 'the delivery id, as listed')
    .action(async (id: string) => (await import('./outbox.js')).dropDeliveryCommand(id, global(), io));

  const admin = program
    .command('admin')
    .description('accounts of the web console (<base>/admin), which is off until one exists');

  admin
    .command('add')
    .description('add an account and print its one-time password')
    .argument('<name>', 'the name to sign in with')
    .addOption(
      new Option('--role <role>', 'partner (every tenant), tenant (its tenant) or read-only')
        .choices(['partner', 'tenant', 'read-only'])
        .default('tenant'),
    )
    .action(async (name: string, options) =>
      (await import('./admin.js')).addAdminCommand(name, { ...global(), ...options }, io),
    );

  admin
    .command('list')
    .description('list the accounts (never their passwords)')
    .action(async () => (await import('./admin.js')).listAdminsCommand(global(), io));

  admin
    .command('remove')
    .description('remove an account; its sessions end')
    .argument('<name>', 'the account')
    .action(async (name: string) => (await import('./admin.js')).removeAdminCommand(name, global(), io));

  admin
    .command('reset')
    .description('give an account a new one-time password; its sessions end')
    .argument('<name>', 'the account')
    .action(async (name: string) => (await import('./admin.js')).resetAdminCommand(name, global(), io));

  program
    .command('store')
    .description('the store: moving between the embedded store and PostgreSQL')
    .command('migrate')
    .description(
      'copy a data directory into a PostgreSQL schema, or back: contacts, sync state, journal, outbox, ' +
        'OAuth connections, the generated token and key (run again to complete a copy cut off)',
    )
    .requiredOption('--from <where>', 'a data directory, or a postgres:// URL')
    .requiredOption('--to <where>', 'a data directory, or a postgres:// URL')
    .option('--schema <name>', 'the PostgreSQL schema (default callcard; with tenants, callcard_<tenant>)')
    .option('--password-env <name>', "the variable holding the database's password, when the URL has none")
    .action(async (options) => (await import('./store.js')).storeMigrateCommand(options, io));

  program
    .command('config')
    .description('configuration tools')
    .command('check')
    .description('validate a config file (and the environment it would run with) without starting')
    .argument('<file>', 'YAML config file')
    .action(async (file: string) => (await import('./config-check.js')).configCheckCommand(file, io));

  addCheckCommand(program, io);
  addSimulateCommand(program, io);
  return program;
}

/**
 * Runs the command line on `argv` (the arguments after the program's name). Returns the exit code
 * of a run that ends on its own (0, or 1 when a command reports a failure); errors are written to
 * stderr and end the run through `io.exit`: 2 for a config or usage error, 1 for any other.
 */
export async function runProgram(argv: readonly string[], io: CliIo): Promise<number> {
  const run: CommandIo = {
    stdout: io.stdout,
    stderr: io.stderr,
    exit: io.exit,
    env: io.env,
    cwd: io.cwd,
    exitCode: 0,
  };
  try {
    await buildProgram(run).parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CliExit) throw error;
    // A config error (ConfigError, of config/load, not imported here to keep --help light).
    if (error instanceof CallcardError && error.code === 'CONFIG_INVALID') {
      io.stderr.write(`callcard: ${error.message}\n`);
      return io.exit(2);
    }
    io.stderr.write(`callcard: ${error instanceof Error ? error.message : String(error)}\n`);
    return io.exit(1);
  }
  return run.exitCode;
}
