import type { ActivitySummary } from '../../metrics/activity.js';
import type { DeliveryStatus } from '../../store/outbox-types.js';
import type { SyncState } from '../../store/types.js';
import { age, Csrf, Layout, Notice, type PageContext, Time } from './layout.js';

export interface SourceHealth {
  readonly name: string;
  readonly mode: 'embedded' | 'mirror' | 'live';
  /** Contacts in the local index (embedded and mirrored sources). */
  readonly contacts?: number;
  readonly state?: SyncState;
}

export interface OverviewData {
  readonly now: number;
  readonly recent: ActivitySummary;
  readonly hour: ActivitySummary;
  readonly sources: readonly SourceHealth[];
  readonly outbox: Readonly<Record<DeliveryStatus, number>>;
  readonly version: string;
  /** For a partner: every tenant's console. */
  readonly tenants?: readonly { readonly name: string; readonly path: string }[];
  /** The viewer may start a mirrored source's sync. */
  readonly canSync: boolean;
  readonly notice?: 'sync-started' | 'sync-refused';
}

const STATUSES: readonly DeliveryStatus[] = ['pending', 'running', 'done', 'dead'];

function share(part: number, whole: number, lang: string): string {
  if (whole === 0) return '-';
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(part / whole);
}

export function OverviewPage(props: { ctx: PageContext; data: OverviewData }) {
  const { ctx, data } = props;
  const { t, lang } = ctx;
  const number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const found = data.hour.hits + data.hour.misses;
  return (
    <Layout ctx={ctx} title={t('overview.title')} page="overview">
      {data.notice === 'sync-started' && <Notice kind="status">{t('overview.syncStarted')}</Notice>}
      {data.notice === 'sync-refused' && <Notice kind="alert">{t('overview.syncRefused')}</Notice>}
      <section aria-labelledby="connector">
        <h2 id="connector">{t('overview.connector')}</h2>
        <dl class="figures">
          <div>
            <dt>{t('overview.perMinute')}</dt>
            <dd data-figure="per-minute">{number.format(data.recent.lookups / 15)}</dd>
          </div>
          <div>
            <dt>{t('overview.lastLookup')}</dt>
            <dd data-figure="last-lookup">
              {data.hour.lastAt === undefined ? (
                t('overview.never')
              ) : (
                <>
                  <Time ctx={ctx} at={data.hour.lastAt} /> (
                  {t('overview.ago', { time: age(ctx, data.now - data.hour.lastAt) })})
                </>
              )}
            </dd>
          </div>
          <div>
            <dt>{t('overview.lookupsHour')}</dt>
            <dd data-figure="lookups-hour">{number.format(data.hour.lookups)}</dd>
          </div>
          <div>
            <dt>{t('overview.hitShare')}</dt>
            <dd data-figure="hit-share">{share(data.hour.hits, found, lang)}</dd>
          </div>
          <div>
            <dt>{t('overview.errors')}</dt>
            <dd data-figure="errors">{number.format(data.hour.errors)}</dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="sources">
        <h2 id="sources">{t('overview.sources')}</h2>
        <div class="scroll" tabindex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('overview.source')}</th>
                <th scope="col">{t('overview.mode')}</th>
                <th scope="col">{t('overview.contacts')}</th>
                <th scope="col">{t('overview.lastSync')}</th>
                <th scope="col">{t('overview.health')}</th>
                <th scope="col">{t('overview.lastError')}</th>
                {data.canSync && <th scope="col">{t('overview.sync')}</th>}
              </tr>
            </thead>
            <tbody>
              {data.sources.map((source) => (
                <tr data-source={source.name}>
                  <th scope="row">{source.name}</th>
                  <td>{t(`mode.${source.mode}`)}</td>
                  <td>{source.contacts === undefined ? '-' : number.format(source.contacts)}</td>
                  <td>
                    {source.state?.succeededAt === undefined ? (
                      '-'
                    ) : (
                      <>
                        <Time ctx={ctx} at={source.state.succeededAt} /> (
                        {t('overview.ago', { time: age(ctx, data.now - source.state.succeededAt) })})
                      </>
                    )}
                  </td>
                  <td>
                    <Health ctx={ctx} source={source} />
                  </td>
                  <td>{source.state?.error ?? ''}</td>
                  {data.canSync && (
                    <td>
                      {source.mode === 'mirror' && (
                        <form class="buttons" method="post" action={`${ctx.base}/sources/sync`}>
                          <Csrf ctx={ctx} />
                          <input type="hidden" name="source" value={source.name} />
                          <button type="submit">
                            {t('overview.syncChanges')}
                            <span class="visually-hidden"> ({source.name})</span>
                          </button>
                          <button type="submit" name="full" value="1">
                            {t('overview.syncFull')}
                            <span class="visually-hidden"> ({source.name})</span>
                          </button>
                        </form>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="outbox">
        <h2 id="outbox">{t('overview.outbox')}</h2>
        <dl class="figures">
          {STATUSES.map((status) => (
            <div>
              <dt>{t(`delivery.${status}`)}</dt>
              <dd data-figure={`outbox-${status}`}>{number.format(data.outbox[status])}</dd>
            </div>
          ))}
        </dl>
      </section>
      {data.tenants && (
        <section aria-labelledby="tenants">
          <h2 id="tenants">{t('overview.tenants')}</h2>
          <ul>
            {data.tenants.map((tenant) => (
              <li>
                <a href={tenant.path}>{tenant.name}</a>
              </li>
            ))}
          </ul>
        </section>
      )}
      <p class="quiet">{t('overview.version', { version: data.version })}</p>
    </Layout>
  );
}

function Health(props: { ctx: PageContext; source: SourceHealth }) {
  const { t } = props.ctx;
  const { mode, state } = props.source;
  if (mode === 'live') return <span>{t('overview.live')}</span>;
  if (mode === 'embedded') return <span class="ok">{t('overview.healthy')}</span>;
  if (state?.error !== undefined) return <span class="bad">{t('overview.failing')}</span>;
  if (state?.succeededAt === undefined) return <span class="warn">{t('overview.waiting')}</span>;
  return <span class="ok">{t('overview.healthy')}</span>;
}
