/** The sql action's `vtiger` preset; how it logs each call once: src/workflows/README.md. */
import mysql from 'mysql2/promise';
import { raceAbort } from '../../util/abort.js';
import type { CallParameters } from './sql-parameters.js';

/** The marker table: which vtiger record each delivery logged. */
export const VTIGER_MARKER_TABLE = 'callcard_deliveries';

const CREATE_MARKER = `CREATE TABLE IF NOT EXISTS ${VTIGER_MARKER_TABLE} (
  delivery_id varchar(200) NOT NULL,
  crmid int(19) NOT NULL,
  created_at datetime NOT NULL,
  PRIMARY KEY (delivery_id)
) ENGINE=InnoDB`;

/** vtiger 7's `vtiger_activity.subject` is varchar(100) (255 in 8.x). */
const SUBJECT_LENGTH = 100;
/** `vtiger_crmentity.label` is varchar(255). */
const LABEL_LENGTH = 255;

const ER_DUP_ENTRY = 1062;

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** vtiger's ids are integers: a user or contact id that is not one is not vtiger's. */
const integer = (value: string | null | undefined): number | undefined =>
  value && /^\d{1,10}$/.test(value) && Number(value) > 0 ? Number(value) : undefined;

export interface VtigerWriter {
  /** Logs the call (once per delivery id) and answers its record id. */
  log(call: CallParameters, owner: number, signal: AbortSignal): Promise<number>;
  /** Writes the call as it is now into the record `crmid` logged before. */
  update(call: CallParameters, crmid: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The owner of a call: the CONNECTOR's user when it is a vtiger user id, else the configured one. */
export function vtigerOwner(call: CallParameters, configured: string | undefined): number | undefined {
  return integer(call.userCrmId) ?? integer(configured);
}

export const vtigerRecordUrl = (base: string, crmid: number) =>
  `${base}/index.php?module=Calendar&view=Detail&record=${crmid}`;

/** Rows of the call, written inside the transaction that holds the new marker. */
async function insertCall(
  connection: mysql.PoolConnection,
  call: CallParameters,
  owner: number,
): Promise<number> {
  await connection.query('UPDATE vtiger_crmentity_seq SET id = LAST_INSERT_ID(id + 1)');
  const [[next]] = (await connection.query('SELECT LAST_INSERT_ID() AS id')) as [{ id: unknown }[], unknown];
  const crmid = Number(next?.id);
  if (!Number.isSafeInteger(crmid) || crmid <= 0) throw new Error('vtiger_crmentity_seq has no row');
  const subject = truncate(call.subject, SUBJECT_LENGTH);
  await connection.query(
    `INSERT INTO vtiger_crmentity (crmid, smcreatorid, smownerid, modifiedby, setype, description,
       createdtime, modifiedtime, presence, deleted, label)
     VALUES (?, ?, ?, ?, 'Calendar', ?, ?, ?, 1, 0, ?)`,
    [crmid, owner, owner, owner, call.description, call.nowUtc, call.nowUtc, truncate(subject, LABEL_LENGTH)],
  );
  // Times in UTC, as vtiger stores them (it converts to each user's time zone when showing them).
  await connection.query(
    `INSERT INTO vtiger_activity (activityid, subject, activitytype, date_start, time_start, due_date,
       time_end, sendnotification, duration_hours, duration_minutes, eventstatus, notime, visibility)
     VALUES (?, ?, 'Call', ?, ?, ?, ?, '0', ?, ?, ?, '0', 'Public')`,
    [crmid, subject, ...activityTimes(call)],
  );
  // vtiger gives every record a row in its custom-field table.
  await connection.query('INSERT INTO vtiger_activitycf (activityid) VALUES (?)', [crmid]);
  const contact = integer(call.contactId);
  if (contact !== undefined) {
    // Only a contact that exists: a deleted one (or another CRM's id) leaves the call unrelated.
    await connection.query(
      `INSERT INTO vtiger_cntactivityrel (contactid, activityid)
       SELECT contactid, ? FROM vtiger_contactdetails WHERE contactid = ?`,
      [crmid, contact],
    );
  }
  return crmid;
}

/** vtiger_activity's dates, times (UTC), duration and status, in its column order. */
function activityTimes(call: CallParameters): string[] {
  const minutes = call.durationMinutes;
  return [
    call.startedAtUtc.slice(0, 10),
    call.startedAtUtc.slice(11),
    call.endedAtUtc.slice(0, 10),
    call.endedAtUtc.slice(11),
    String(Math.floor(minutes / 60)),
    String(minutes % 60),
    call.status === 'answered' ? 'Held' : 'Not Held',
  ];
}

/** The record's rows as the call is now; the contact related when it was not yet. */
async function updateCall(
  connection: mysql.PoolConnection,
  call: CallParameters,
  crmid: number,
): Promise<void> {
  const subject = truncate(call.subject, SUBJECT_LENGTH);
  await connection.query(
    'UPDATE vtiger_crmentity SET description = ?, modifiedtime = ?, label = ? WHERE crmid = ? AND deleted = 0',
    [call.description, call.nowUtc, truncate(subject, LABEL_LENGTH), crmid],
  );
  await connection.query(
    `UPDATE vtiger_activity SET subject = ?, date_start = ?, time_start = ?, due_date = ?, time_end = ?,
       duration_hours = ?, duration_minutes = ?, eventstatus = ?
     WHERE activityid = ?`,
    [subject, ...activityTimes(call), crmid],
  );
  const contact = integer(call.contactId);
  if (contact !== undefined) {
    await connection.query(
      `INSERT INTO vtiger_cntactivityrel (contactid, activityid)
       SELECT contactid, ? FROM vtiger_contactdetails WHERE contactid = ?
         AND NOT EXISTS (SELECT 1 FROM vtiger_cntactivityrel WHERE contactid = ? AND activityid = ?)`,
      [crmid, contact, contact, crmid],
    );
  }
}

export function createVtigerWriter(options: { url: string; password?: string }): VtigerWriter {
  const pool = mysql.createPool({
    uri: options.url,
    ...(options.password !== undefined && { password: options.password }),
    connectionLimit: 4,
    connectTimeout: 5_000,
    supportBigNumbers: true,
  });
  // An idle connection that loses its server must not take the process down.
  pool.on('connection', (connection) => connection.on('error', () => {}));
  let marker: Promise<void> | undefined;
  let closed: Promise<void> | undefined;

  async function transaction(connection: mysql.PoolConnection, call: CallParameters, owner: number) {
    await connection.query('START TRANSACTION');
    try {
      try {
        await connection.query(
          `INSERT INTO ${VTIGER_MARKER_TABLE} (delivery_id, crmid, created_at) VALUES (?, 0, ?)`,
          [call.deliveryId, call.nowUtc],
        );
      } catch (error) {
        if ((error as { errno?: unknown }).errno !== ER_DUP_ENTRY) throw error;
        // Logged before (or just now by a concurrent attempt, whose commit this insert waited for).
        const [rows] = (await connection.query(
          `SELECT crmid FROM ${VTIGER_MARKER_TABLE} WHERE delivery_id = ? LOCK IN SHARE MODE`,
          [call.deliveryId],
        )) as [{ crmid: unknown }[], unknown];
        await connection.query('COMMIT');
        const crmid = Number(rows[0]?.crmid);
        if (!(crmid > 0)) throw new Error(`${VTIGER_MARKER_TABLE} holds no record for the delivery`);
        return crmid;
      }
      const crmid = await insertCall(connection, call, owner);
      await connection.query(`UPDATE ${VTIGER_MARKER_TABLE} SET crmid = ? WHERE delivery_id = ?`, [
        crmid,
        call.deliveryId,
      ]);
      await connection.query('COMMIT');
      return crmid;
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /** Runs `work` on a connection of its own, which `signal` kills (the server then rolls it back). */
  /**
   * A pooled connection unless the attempt is cut off first (a server that does not answer would
   * hold it until the connect timeout); one that arrives after that goes straight back.
   */
  function connectionFor(signal: AbortSignal): Promise<mysql.PoolConnection> {
    signal.throwIfAborted();
    const connecting = pool.getConnection();
    return raceAbort(signal, connecting, {
      onAbort: () =>
        void connecting.then(
          (late) => late.release(),
          () => {},
        ),
    });
  }

  async function withConnection<T>(
    signal: AbortSignal,
    work: (connection: mysql.PoolConnection) => Promise<T>,
  ): Promise<T> {
    const connection = await connectionFor(signal);
    let broken = false;
    const stop = () => {
      broken = true;
      // The server rolls back the transaction of a connection it kills: nothing half-written.
      pool.query(`KILL ${Number(connection.threadId)}`).catch(() => {});
      connection.destroy();
    };
    try {
      if (signal.aborted) throw signal.reason;
      signal.addEventListener('abort', stop, { once: true });
      return await raceAbort(signal, work(connection));
    } catch (error) {
      if ((error as { fatal?: unknown }).fatal) broken = true;
      throw error;
    } finally {
      signal.removeEventListener('abort', stop);
      if (broken) connection.destroy();
      else connection.release();
    }
  }

  return {
    update(call, crmid, signal) {
      return withConnection(signal, async (connection) => {
        await connection.query('START TRANSACTION');
        try {
          await updateCall(connection, call, crmid);
          await connection.query('COMMIT');
        } catch (error) {
          await connection.query('ROLLBACK').catch(() => {});
          throw error;
        }
      });
    },
    log(call, owner, signal) {
      return withConnection(signal, async (connection) => {
        marker ??= connection.query(CREATE_MARKER).then(
          () => undefined,
          (error: unknown) => {
            marker = undefined;
            throw error;
          },
        );
        await marker;
        return transaction(connection, call, owner);
      });
    },
    close() {
      // A pool whose connections were lost (a server gone) ends all the same: closing never fails.
      closed ??= pool.end().catch(() => {});
      return closed;
    },
  };
}
