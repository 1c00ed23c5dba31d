import type { Delivery } from '../../store/outbox-types.js';
import type { CallRecord } from '../../store/types.js';
import { Csrf, Layout, Notice, type PageContext, Time } from './layout.js';

/** The filters as the form holds them (text, as typed). */
export interface CallFilters {
  readonly from?: string;
  readonly to?: string;
  readonly direction?: string;
  readonly status?: string;
  readonly number?: string;
  readonly contact?: string;
}

/** A call as listed: its numbers already masked or not, by the viewer's role. */
export interface CallRow {
  readonly call: CallRecord;
  readonly time: number;
  readonly from: string;
  readonly to: string;
}

function query(filters: CallFilters, after?: string): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) params.set(name, value);
  if (after) params.set('after', after);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function CallsPage(props: {
  ctx: PageContext;
  filters: CallFilters;
  rows: readonly CallRow[];
  next?: string;
  paged: boolean;
  masked: boolean;
  error?: string;
}) {
  const { ctx, filters, rows } = props;
  const { t } = ctx;
  const choice = (name: 'direction' | 'status', values: readonly string[], key: (v: string) => string) => (
    <select id={name} name={name}>
      <option value="">{t('calls.any')}</option>
      {values.map((value) => (
        <option value={value} selected={filters[name] === value}>
          {key(value)}
        </option>
      ))}
    </select>
  );
  return (
    <Layout ctx={ctx} title={t('calls.title')} page="calls">
      <form class="filters" method="get" action={`${ctx.base}/calls`} aria-label={t('calls.filters')}>
        <div>
          <label for="from">{t('calls.from')}</label>
          <input id="from" name="from" type="date" value={filters.from ?? ''} />
        </div>
        <div>
          <label for="to">{t('calls.to')}</label>
          <input id="to" name="to" type="date" value={filters.to ?? ''} />
        </div>
        <div>
          <label for="direction">{t('calls.direction')}</label>
          {choice('direction', ['incoming', 'outgoing'], (v) =>
            t(v === 'incoming' ? 'direction.incoming' : 'direction.outgoing'),
          )}
        </div>
        <div>
          <label for="status">{t('calls.status')}</label>
          {choice('status', ['answered', 'missed'], (v) =>
            t(v === 'answered' ? 'callStatus.answered' : 'callStatus.missed'),
          )}
        </div>
        <div>
          <label for="number">{t('calls.number')}</label>
          <input id="number" name="number" inputmode="tel" value={filters.number ?? ''} />
        </div>
        <div>
          <label for="contact">{t('calls.contact')}</label>
          <input id="contact" name="contact" value={filters.contact ?? ''} />
        </div>
        <div class="buttons">
          <button type="submit">{t('calls.apply')}</button>
          <a href={`${ctx.base}/calls`}>{t('calls.reset')}</a>
        </div>
      </form>
      {props.error && <Notice kind="alert">{props.error}</Notice>}
      {props.masked && <p class="quiet">{t('calls.masked')}</p>}
      {rows.length === 0 ? (
        <p data-calls="none">{t('calls.none')}</p>
      ) : (
        <div class="scroll" tabindex={0}>
          <table data-calls={rows.length}>
            <thead>
              <tr>
                <th scope="col">{t('calls.time')}</th>
                <th scope="col">{t('calls.direction')}</th>
                <th scope="col">{t('calls.status')}</th>
                <th scope="col">{t('calls.caller')}</th>
                <th scope="col">{t('calls.callee')}</th>
                <th scope="col">{t('calls.duration')}</th>
                <th scope="col">{t('calls.workflow')}</th>
                <th scope="col">{t('calls.details')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ call, time, from, to }) => (
                <tr data-call={call.id}>
                  <td>
                    <Time ctx={ctx} at={time} />
                  </td>
                  <td>{call.direction ? t(`direction.${call.direction}`) : '-'}</td>
                  <td>{t(`callStatus.${call.status}`)}</td>
                  <td>
                    {from}
                    {call.originatorName && <span class="detail">{call.originatorName}</span>}
                  </td>
                  <td>
                    {to}
                    {call.destinationName && <span class="detail">{call.destinationName}</span>}
                  </td>
                  <td>{call.durationSeconds === undefined ? '-' : `${call.durationSeconds} s`}</td>
                  <td>{call.workflow}</td>
                  <td>
                    <a href={`${ctx.base}/calls/${encodeURIComponent(call.id)}`}>
                      {t('calls.details')}
                      <span class="visually-hidden">
                        {' '}
                        ({from} → {to})
                      </span>
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pages" aria-label={t('calls.title')}>
        {props.paged && <a href={`${ctx.base}/calls${query(filters)}`}>{t('calls.first')}</a>}
        {rows.length > 0 && (
          <a href={`${ctx.base}/calls.csv${query(filters)}`} download="calls.csv">
            {t('calls.csv')}
          </a>
        )}
        {props.next && (
          <a rel="next" href={`${ctx.base}/calls${query(filters, props.next)}`}>
            {t('calls.next')}
          </a>
        )}
      </nav>
    </Layout>
  );
}

export function CallPage(props: {
  ctx: PageContext;
  row: CallRow;
  deliveries: readonly Delivery[];
  /** The viewer may retry and drop deliveries. */
  canChange: boolean;
  news?: string;
  error?: string;
}) {
  const { ctx, row, deliveries } = props;
  const { t } = ctx;
  const { call } = row;
  return (
    <Layout ctx={ctx} title={t('call.title')} page="calls">
      {props.news && <Notice kind="status">{props.news}</Notice>}
      {props.error && <Notice kind="alert">{props.error}</Notice>}
      <dl class="steps">
        <dt>{t('calls.time')}</dt>
        <dd>
          <Time ctx={ctx} at={row.time} />
        </dd>
        <dt>{t('calls.direction')}</dt>
        <dd>{call.direction ? t(`direction.${call.direction}`) : '-'}</dd>
        <dt>{t('calls.status')}</dt>
        <dd>{t(`callStatus.${call.status}`)}</dd>
        <dt>{t('calls.caller')}</dt>
        <dd>
          {row.from} {call.originatorName ?? ''}
        </dd>
        <dt>{t('calls.callee')}</dt>
        <dd>
          {row.to} {call.destinationName ?? ''}
        </dd>
        <dt>{t('calls.contact')}</dt>
        <dd>{call.contactCrmId ?? '-'}</dd>
        <dt>{t('calls.workflow')}</dt>
        <dd>{call.workflow}</dd>
        <dt>{t('call.received')}</dt>
        <dd>{call.receivedCount}</dd>
      </dl>
      <h2>{t('call.deliveries')}</h2>
      {deliveries.length === 0 ? (
        <p>{t('call.noDeliveries')}</p>
      ) : (
        <div class="scroll" tabindex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('call.action')}</th>
                <th scope="col">{t('calls.status')}</th>
                <th scope="col">{t('call.attempts')}</th>
                <th scope="col">{t('call.nextTry')}</th>
                <th scope="col">{t('call.lastError')}</th>
                <th scope="col">{t('call.result')}</th>
                {props.canChange && <th scope="col">{t('call.handle')}</th>}
              </tr>
            </thead>
            <tbody>
              {deliveries.map((delivery) => (
                <tr data-delivery={delivery.id} data-status={delivery.status}>
                  <th scope="row">
                    {delivery.actionType} #{delivery.action + 1}
                  </th>
                  <td>{t(`delivery.${delivery.status}`)}</td>
                  <td>
                    {delivery.attempts}/{delivery.maxAttempts}
                  </td>
                  <td>{delivery.status === 'pending' ? <Time ctx={ctx} at={delivery.nextAt} /> : '-'}</td>
                  <td>{delivery.lastError ?? ''}</td>
                  <td>
                    {delivery.resultUrl ? (
                      <a href={delivery.resultUrl}>{delivery.resultId ?? delivery.resultUrl}</a>
                    ) : (
                      (delivery.resultId ?? '')
                    )}
                  </td>
                  {props.canChange && (
                    <td class="actions">
                      {(delivery.status === 'dead' || delivery.status === 'pending') && (
                        <DeliveryButton
                          ctx={ctx}
                          call={call.id}
                          delivery={delivery.id}
                          verb="retry"
                          label={t('call.retry')}
                        />
                      )}
                      {delivery.status !== 'running' && (
                        <DeliveryButton
                          ctx={ctx}
                          call={call.id}
                          delivery={delivery.id}
                          verb="drop"
                          label={t('call.drop')}
                        />
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p>
        <a href={`${ctx.base}/calls`}>{t('call.back')}</a>
      </p>
    </Layout>
  );
}

function DeliveryButton(props: {
  ctx: PageContext;
  call: string;
  delivery: string;
  verb: 'retry' | 'drop';
  label: string;
}) {
  const { ctx } = props;
  return (
    <form method="post" action={`${ctx.base}/calls/${encodeURIComponent(props.call)}/${props.verb}`}>
      <Csrf ctx={ctx} />
      <input type="hidden" name="delivery" value={props.delivery} />
      <button type="submit" class={props.verb === 'drop' ? 'danger' : undefined}>
        {props.label}
      </button>
    </form>
  );
}
