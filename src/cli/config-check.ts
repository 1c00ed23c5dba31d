import { readFileSync } from 'node:fs';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config/load.js';
import { pathPrefix } from '../config/schema.js';
import { configuredCredentials, sharedTokenMessage, sharedTokens } from '../credentials.js';
import type { Credential } from '../http/auth.js';
import { checkedConnections } from '../oauth/connections.js';
import { openSource } from '../sources/registry.js';
import { tlsFilesOf } from '../tls.js';
import { createAction } from '../workflows/actions/registry.js';
import type { CommandIo } from './io.js';

/**
 * `callcard config check FILE`: validates a config as `serve` would read it (with the environment's
 * overrides), and builds each source (as serve does, its mode included) and action, which reads
 * their secrets and checks their settings, without opening the data directory or starting anything.
 */
export async function configCheckCommand(file: string, io: CommandIo): Promise<void> {
  const config = loadConfig({ file, env: io.env, cwd: io.cwd });
  const logger = pino({ level: 'silent' });
  const problems: string[] = [];
  const lines = [`${file}: valid`];
  const credentials: { name: string; credentials: Credential[] }[] = [];
  for (const tenant of config.tenants) {
    const baseDir = tenant.baseDir ?? io.cwd;
    // Paths in messages as written in the file: with one tenant, its settings sit at the top.
    const at = config.tenants.length > 1 ? `tenants.${tenant.name}.` : '';
    const connections = checkedConnections(logger);
    try {
      credentials.push({ name: tenant.name, credentials: configuredCredentials(tenant, io.env) });
    } catch (error) {
      problems.push(`${at}auth: ${(error as Error).message}`);
    }
    for (const [index, entry] of tenant.sources.entries()) {
      try {
        const { source } = await openSource(entry, { logger, baseDir, connections });
        await source.close?.();
      } catch (error) {
        problems.push(`${at}sources.${index} (${entry.name}): ${(error as Error).message}`);
      }
    }
    for (const [name, workflow] of Object.entries(tenant.workflows)) {
      for (const [index, settings] of workflow.actions.entries()) {
        try {
          const { action } = await createAction(settings, { baseDir, connections });
          await action.close?.();
        } catch (error) {
          problems.push(`${at}workflows.${name}.actions.${index}: ${(error as Error).message}`);
        }
      }
    }
    const sources = tenant.sources.map(
      (entry) => `${entry.name} (${entry.type}${entry.mode ? `, ${entry.mode}` : ''})`,
    );
    const workflows = [
      'CallFlow',
      ...Object.keys(tenant.workflows).filter((name) => name.toLowerCase() !== 'callflow'),
    ];
    const indent = config.tenants.length > 1 ? '    ' : '  ';
    if (config.tenants.length > 1) lines.push(`  tenant ${tenant.name}:`);
    lines.push(
      `${indent}sources: ${sources.join(', ')}`,
      `${indent}workflows: ${workflows.join(', ')}`,
      `${indent}serves ${pathPrefix(tenant.basePath)}/Lookup on port ${config.port}` +
        `${config.tls ? ' (HTTPS)' : ''}`,
    );
  }
  // As serve would refuse to start: one token must never open two tenants.
  for (const { tenant, other } of sharedTokens(credentials)) {
    problems.push(`tenants.${tenant}.auth: ${sharedTokenMessage(other)}`);
  }
  const tlsFiles = tlsFilesOf(config);
  if (tlsFiles) {
    for (const [name, path] of Object.entries(tlsFiles)) {
      try {
        readFileSync(path);
      } catch (error) {
        problems.push(
          `tls.${name}: ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  io.stdout.write(`${lines.join('\n')}\n`);
}
