import type { Delivery } from '../../store/outbox-types.js';
import type { CallRecord } from '../../store/types.js';

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const LABELS: readonly (readonly [keyof CallRecord, string])[] = [
  ['direction', 'Direction'],
  ['status', 'Status'],
  ['originatorName', 'From'],
  ['originatorNumber', 'From number'],
  ['destinationName', 'To'],
  ['destinationNumber', 'To number'],
  ['startedTime', 'Started'],
  ['answeredTime', 'Answered'],
  ['endedTime', 'Ended'],
  ['declinedTime', 'Declined'],
  ['durationSeconds', 'Duration (s)'],
  ['contactCrmId', 'Contact id'],
  ['userCrmId', 'User id'],
];

const STATUS: Readonly<Record<Delivery['status'], string>> = {
  pending: 'waiting to be delivered',
  running: 'being delivered',
  done: 'delivered',
  dead: 'not delivered (given up; an operator can retry it)',
};

/** A readable page for one call record of the journal, with where its deliveries stand. */
export function renderCallPage(record: CallRecord, deliveries: readonly Delivery[] = []): string {
  const known = new Set<string>(LABELS.map(([field]) => field));
  const rows = LABELS.filter(([field]) => record[field] !== undefined).map(
    ([field, label]) => [label, String(record[field])] as const,
  );
  const extra = Object.entries(record.inputs)
    .filter(([name]) => !known.has(name) && name !== 'direction')
    .map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)] as const);
  const table = [...rows, ...extra]
    .map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('\n');
  const delivering = deliveries.some((d) => d.status === 'pending' || d.status === 'running');
  const statusRows = deliveries
    .map(
      (d) =>
        `<tr><th>${escapeHtml(d.actionType)}</th><td>${escapeHtml(STATUS[d.status])}` +
        `${d.status !== 'done' && d.attempts > 0 ? ` · ${d.attempts} attempt(s)` : ''}</td></tr>`,
    )
    .join('\n');
  const title =
    `${record.direction === 'outgoing' ? 'Outgoing' : record.direction === 'incoming' ? 'Incoming' : ''} call`.trim();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">${delivering ? '\n<meta http-equiv="refresh" content="5">' : ''}
<title>${escapeHtml(title)} · callcard</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:40rem;color:#1d2b24;padding:0 1rem}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #dfe7e3;vertical-align:top}
th{width:11rem;color:#4b5d55;font-weight:600}footer{margin-top:1.5rem;color:#6b7c74;font-size:.85rem}
</style></head>
<body><h1>${escapeHtml(title)}</h1>
<table>
${table}
</table>
${statusRows ? `<h2>Delivery</h2>\n<table>\n${statusRows}\n</table>\n` : ''}<footer>${escapeHtml(record.workflow)} · recorded ${escapeHtml(record.createdAt)} · received ${record.receivedCount}×</footer>
</body></html>
`;
}
