import pino from 'pino';
import { ConfigError, loadConfig } from '../config/load.js';
import { createSource } from '../sources/registry.js';
import { createAction } from '../workflows/actions/registry.js';

/**
 * `callcard config check FILE`: validates a config as `serve` would read it (with the environment's
 * overrides), and builds each source and action, which reads their secrets and checks their
 * settings, without opening the data directory or starting anything.
 */
export async function configCheckCommand(file: string): Promise<void> {
  const config = loadConfig({ file });
  const baseDir = config.baseDir ?? process.cwd();
  const logger = pino({ level: 'silent' });
  const problems: string[] = [];
  for (const [index, entry] of config.sources.entries()) {
    try {
      const source = await createSource(entry, { logger, baseDir });
      await source.close?.();
    } catch (error) {
      problems.push(`sources.${index} (${entry.name}): ${(error as Error).message}`);
    }
  }
  for (const [name, workflow] of Object.entries(config.workflows)) {
    for (const [index, settings] of workflow.actions.entries()) {
      try {
        const { action } = createAction(settings, { baseDir });
        await action.close?.();
      } catch (error) {
        problems.push(`workflows.${name}.actions.${index}: ${(error as Error).message}`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const sources = config.sources.map(
    (entry) => `${entry.name} (${entry.type}${entry.mode ? `, ${entry.mode}` : ''})`,
  );
  const workflows = [
    'CallFlow',
    ...Object.keys(config.workflows).filter((name) => name.toLowerCase() !== 'callflow'),
  ];
  process.stdout.write(
    `${file}: valid\n  sources: ${sources.join(', ')}\n  workflows: ${workflows.join(', ')}\n` +
      `  serves ${config.basePath === '/' ? '' : config.basePath}/Lookup on port ${config.port}\n`,
  );
}
