import type { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import mysql from 'mysql2';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { raceAbort } from '../util/abort.js';
import { bindNamed } from './named-params.js';

export type Row = Record<string, unknown>;

/** The slice of a database that the sql source needs, the same for every driver. */
export interface SqlClient {
  /** Quotes a table or column name, `schema.table` part by part. */
  readonly quote: (identifier: string) => string;
  /** Quotes a result column's name as one piece: labels such as `Customer no.` hold dots and quotes. */
  readonly alias: (label: string) => string;
  query(sql: string, values: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<Row[]>;
  /** Rows in batches, streamed from the server: memory does not grow with the table. */
  stream(
    sql: string,
    values: Readonly<Record<string, unknown>>,
    signal: AbortSignal,
    batch: number,
  ): AsyncIterable<Row[]>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly url?: string;
  readonly file?: string;
  readonly password?: string;
  /** SQLite: longest wait for a lock held by a writer. */
  readonly statementTimeoutMs: number;
}

function aborted(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Runs `work`, rejecting as soon as `signal` aborts; `onAbort` stops the work on the server. */
function abortable<T>(signal: AbortSignal, work: Promise<T>, onAbort: () => void): Promise<T> {
  return raceAbort(signal, work, { onAbort, reason: aborted });
}

/**
 * Waits for a pooled connection unless the call is cut off first. A connection that arrives after
 * that goes straight back: the caller never sees it, and the pool would lose it for good (and
 * `close()` would wait for it forever).
 */
function acquire<T>(
  signal: AbortSignal,
  connecting: Promise<T>,
  giveBack: (connection: T) => void,
): Promise<T> {
  return abortable(signal, connecting, () => {
    connecting.then(giveBack, () => {});
  });
}

/** Quoting with `mark`, which is doubled inside a name (standard SQL, and MySQL's backticks alike). */
function quoting(mark: string): Pick<SqlClient, 'quote' | 'alias'> {
  const one = (name: string) => mark + name.replaceAll(mark, mark + mark) + mark;
  return { quote: (identifier) => identifier.split('.').map(one).join('.'), alias: one };
}

async function* batches<T>(rows: AsyncIterable<T>, size: number): AsyncIterable<T[]> {
  let batch: T[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * A streamed listing in batches, ended with an error when its signal aborts or its connection is
 * lost (drivers tell the connection, not the query, and the listing would otherwise wait for ever),
 * and handed back afterwards: `release(true)` when the connection must not be reused.
 */
async function* guardedBatches(
  rows: AsyncIterable<Row>,
  size: number,
  signal: AbortSignal,
  connection: EventEmitter,
  fail: (error: Error) => void,
  release: (broken: boolean) => void,
): AsyncIterable<Row[]> {
  const stop = () => fail(aborted(signal));
  const lost = (error?: Error) => fail(error ?? new Error('the connection to the database was closed'));
  signal.addEventListener('abort', stop, { once: true });
  connection.on('error', lost).on('end', lost);
  let failed = false;
  try {
    yield* batches(rows, size);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    signal.removeEventListener('abort', stop);
    connection.off('error', lost).off('end', lost);
    release(failed || signal.aborted);
  }
}

export function connectPostgres(options: ConnectOptions): SqlClient {
  const pool = new pg.Pool({
    connectionString: options.url,
    ...(options.password !== undefined && { password: options.password }),
    max: 4,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    // No statement_timeout: a mirror's listing of millions of rows may rightly take minutes. Live
    // searches are bounded by the lookup, which cancels them on the server when their time is up.
  });
  // An idle client that loses its server must not take the process down.
  pool.on('error', () => {});
  // Nor one in use: pg emits the error on the client as well as failing its query, and an
  // 'error' event without a listener would be thrown. The query's own failure reports it.
  pool.on('connect', (client) => client.on('error', () => {}));
  let closed: Promise<void> | undefined;
  return {
    ...quoting('"'),
    async query(sql, values, signal) {
      const { text, params } = bindNamed(sql, values, 'dollar');
      const client = await acquire(signal, pool.connect(), (late) => late.release());
      let broken = false;
      try {
        const result = await abortable(signal, client.query(text, params), () => {
          broken = true;
          // Dropping the connection does not stop the statement: PostgreSQL notices a client has
          // gone only when it next writes to it, so a slow query would run on to its timeout.
          const pid = (client as unknown as { processID?: number }).processID;
          if (pid) pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
        });
        return result.rows as Row[];
      } catch (error) {
        broken = true;
        throw error;
      } finally {
        // A client whose query was cut off or failed is dropped, not reused.
        client.release(broken);
      }
    },
    async *stream(sql, values, signal, size) {
      const { text, params } = bindNamed(sql, values, 'dollar');
      const client = await acquire(signal, pool.connect(), (late) => late.release());
      const rows = client.query(new QueryStream(text, params, { batchSize: size }));
      // Ends the reading with an error. Not through rows.destroy(): pg-query-stream reports that
      // only once the server has confirmed closing the cursor, which a lost or hung connection
      // never does, and the listing (with every sync queued behind it) would wait for ever.
      const fail = (error: Error) => {
        if (rows.listenerCount('error') > 0) rows.emit('error', error);
        else rows.destroy(error);
      };
      yield* guardedBatches(rows as AsyncIterable<Row>, size, signal, client, fail, (broken) =>
        client.release(broken),
      );
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}

export function connectMysql(options: ConnectOptions): SqlClient {
  const pool = mysql.createPool({
    uri: options.url,
    ...(options.password !== undefined && { password: options.password }),
    connectionLimit: 4,
    connectTimeout: 5_000,
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  // No session statement timeout, for the same reason as PostgreSQL's: listings may be long, live
  // searches are cancelled on the server (KILL QUERY) when the lookup gives up on them.
  const getConnection = () =>
    new Promise<mysql.PoolConnection>((resolve, reject) =>
      pool.getConnection((error, connection) => (error ? reject(error) : resolve(connection))),
    );
  let closed: Promise<void> | undefined;
  return {
    ...quoting('`'),
    async query(sql, values, signal) {
      const { text, params } = bindNamed(sql, values, 'question');
      const connection = await acquire(signal, getConnection(), (late) => late.release());
      let broken = false;
      try {
        const work = new Promise<Row[]>((resolve, reject) =>
          connection.query(text, params, (error, rows) => (error ? reject(error) : resolve(rows as Row[]))),
        );
        return await abortable(signal, work, () => {
          broken = true;
          // Dropping the connection does not stop the statement: the server goes on until it
          // next writes to the client, or until its timeout. Stop it from another connection.
          pool.query(`KILL QUERY ${Number(connection.threadId)}`, () => {});
        });
      } catch (error) {
        broken = true;
        throw error;
      } finally {
        if (broken) connection.destroy();
        else connection.release();
      }
    },
    async *stream(sql, values, signal, size) {
      const { text, params } = bindNamed(sql, values, 'question');
      const connection = await acquire(signal, getConnection(), (late) => late.release());
      const rows = connection.query(text, params).stream({ highWaterMark: size });
      // mysql2 tells a lost connection to the connection, not to a streaming query on it.
      yield* guardedBatches(
        rows as AsyncIterable<Row>,
        size,
        signal,
        connection,
        (error) => rows.destroy(error),
        (broken) => (broken ? connection.destroy() : connection.release()),
      );
    },
    close() {
      closed ??= new Promise<void>((resolve) => pool.end(() => resolve()));
      return closed;
    },
  };
}

export function connectSqlite(options: ConnectOptions): SqlClient {
  const file = options.file;
  if (!file) throw new Error('sqlite needs a file');
  // Opened on first use, like the network drivers' pools: a file missing at start is a failed sync
  // or lookup, reported as such, not a service that cannot start. And opened again when the name
  // points to another file: an export written aside and renamed over the old one, or a file
  // removed. A handle kept open would go on reading the old file for ever, however it changed.
  interface Handle {
    readonly db: Database.Database;
    readonly dev: number;
    readonly ino: number;
    users: number;
    retired: boolean;
  }
  let current: Handle | undefined;
  const retire = (handle: Handle) => {
    handle.retired = true;
    // A listing still reading the old file finishes on it.
    if (handle.users === 0 && handle.db.open) handle.db.close();
  };
  const take = (): Handle => {
    const { dev, ino } = statSync(file);
    if (current && (current.dev !== dev || current.ino !== ino || !current.db.open)) {
      retire(current);
      current = undefined;
    }
    if (!current) {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma(`busy_timeout = ${Math.min(options.statementTimeoutMs, 5000)}`);
      current = { db, dev, ino, users: 0, retired: false };
    }
    current.users++;
    return current;
  };
  const giveBack = (handle: Handle) => {
    handle.users--;
    if (handle.retired) retire(handle);
  };
  return {
    ...quoting('"'),
    async query(sql, values, signal) {
      if (signal.aborted) throw aborted(signal);
      const { text, params } = bindNamed(sql, values, 'question');
      const handle = take();
      try {
        return handle.db.prepare(text).all(...params) as Row[];
      } finally {
        giveBack(handle);
      }
    },
    async *stream(sql, values, signal, size) {
      const { text, params } = bindNamed(sql, values, 'question');
      const handle = take();
      try {
        let batch: Row[] = [];
        for (const row of handle.db.prepare(text).iterate(...params) as Iterable<Row>) {
          if (signal.aborted) throw aborted(signal);
          batch.push(row);
          if (batch.length >= size) {
            yield batch;
            batch = [];
            // Reading a local file is synchronous: let requests in between batches.
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
        if (batch.length > 0) yield batch;
      } finally {
        giveBack(handle);
      }
    },
    async close() {
      if (current) retire(current);
      current = undefined;
    },
  };
}
