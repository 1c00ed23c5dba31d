// Every scenario of the bench, in the order they run.

import type { TableLoad } from '../support/pg.js';
import bare, { type BareResult } from './bare.js';
import callflow, { type CallFlowResult } from './callflow.js';
import callflowDown, { type CallFlowDownResult } from './callflow-down.js';
import { type CallFlowPgResult, callFlowPg1, callFlowPg3 } from './callflow-pg.js';
import contacts, { type ContactsResult } from './contacts.js';
import importScenario, { type ImportResult } from './import.js';
import importPg, { type ImportPgResult } from './import-pg.js';
import liveSql, { type LiveSqlResult } from './live-sql.js';
import lookup, { type LookupResult } from './lookup.js';
import lookupInfo, { type LookupInfoResult } from './lookup-info.js';
import { type LookupPgResult, lookupPg1, lookupPg3 } from './lookup-pg.js';
import mirrorSync, { type MirrorSyncResult } from './mirror-sync.js';
import outboxDrain, { type OutboxDrainResult } from './outbox-drain.js';
import pgTable from './pg-table.js';
import slowSource, { type SlowSourceResult } from './slow-source.js';
import soakSync, { type SoakSyncResult } from './soak-sync.js';
import type { Scenario } from './types.js';

export interface ScenarioResults {
  contacts: ContactsResult;
  import: ImportResult;
  lookup: LookupResult;
  bare: BareResult;
  'lookup-info': LookupInfoResult;
  'import-pg': ImportPgResult;
  'lookup-pg': LookupPgResult;
  'lookup-pg3': LookupPgResult;
  'pg-table': TableLoad;
  'live-sql': LiveSqlResult;
  'slow-source': SlowSourceResult;
  'mirror-sync': MirrorSyncResult;
  callflow: CallFlowResult;
  'callflow-pg': CallFlowPgResult;
  'callflow-pg3': CallFlowPgResult;
  'callflow-down': CallFlowDownResult;
  'outbox-drain': OutboxDrainResult;
  'soak-sync': SoakSyncResult;
}

export type ScenarioName = keyof ScenarioResults;

/** Each typed by its own result; read here through what every scenario has. */
export const SCENARIOS: readonly Scenario<unknown>[] = [
  contacts,
  importScenario,
  lookup,
  bare,
  lookupInfo,
  importPg,
  lookupPg1,
  lookupPg3,
  pgTable,
  liveSql,
  slowSource,
  mirrorSync,
  callflow,
  callFlowPg1,
  callFlowPg3,
  callflowDown,
  outboxDrain,
  soakSync,
];
