#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/load.js';
import { importCommand } from './import.js';
import { serveCommand } from './serve.js';
import { lookupCommand, sourcesCommand, syncCommand } from './sources.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError('must be a whole number');
  return parsed;
}

const program = new Command('callcard')
  .description('Phone lookup service for the peoplefone CONNECTOR')
  .option('-c, --config <file>', 'YAML config file (default: $CALLCARD_CONFIG)')
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('serve the CONNECTOR API')
  .option('-p, --port <port>', 'port to listen on (default 8080, $CALLCARD_PORT)', integer)
  .option('--host <host>', 'address to listen on (default 0.0.0.0, $CALLCARD_HOST)')
  .action((options) => serveCommand({ ...program.opts(), ...options }));

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
