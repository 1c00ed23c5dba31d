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
  /** Its sync waiting or running on this instance, with the entries read so far. */
  readonly underway?: { readonly state: 'waiting' | 'running'; readonly read: number };
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
      <div hidden data-live={`${ctx.base}/events`} />
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
                  <Time ctx={ctx} at={data.hour.lastAt} />{' '}
                  <span data-ago>({t('overview.ago', { time: age(ctx, data.now - data.hour.lastAt) })})</span>
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
                  <td data-cell="contacts">
                    {source.contacts === undefined ? '-' : number.format(source.contacts)}
                  </td>
                  <td data-cell="last-sync">{lastSyncText(ctx, data.now, source)}</td>
                  <td>
                    <Health ctx={ctx} source={source} />{' '}
                    <span class="quiet" data-cell="underway">
                      {underwayText(ctx, source)}
                    </span>
                  </td>
                  <td data-cell="error">{source.state?.error ?? ''}</td>
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
  const health = healthOf(props.ctx, props.source);
  return (
    <span class={health.tone} data-cell="health">
      {health.text}
    </span>
  );
}

function healthOf(ctx: PageContext, source: SourceHealth): { text: string; tone: string } {
  const { t } = ctx;
  const { mode, state } = source;
  if (mode === 'live') return { text: t('overview.live'), tone: '' };
  if (mode === 'embedded') return { text: t('overview.healthy'), tone: 'ok' };
  if (state?.error !== undefined) return { text: t('overview.failing'), tone: 'bad' };
  if (state?.succeededAt === undefined) return { text: t('overview.waiting'), tone: 'warn' };
  return { text: t('overview.healthy'), tone: 'ok' };
}

function lastSyncText(ctx: PageContext, now: number, source: SourceHealth): string {
  const at = source.state?.succeededAt;
  if (at === undefined) return '-';
  const shown = new Intl.DateTimeFormat(ctx.lang, { dateStyle: 'medium', timeStyle: 'medium' }).format(at);
  return `${shown} (${ctx.t('overview.ago', { time: age(ctx, now - at) })})`;
}

function underwayText(ctx: PageContext, source: SourceHealth): string {
  if (!source.underway) return '';
  return source.underway.state === 'waiting'
    ? ctx.t('overview.syncWaiting')
    : ctx.t('overview.syncRunning', { read: source.underway.read });
}

/** The overview's figures as the live updates carry them: text as the page shows it, by place. */
export interface LiveOverview {
  readonly figures: Readonly<Record<string, string>>;
  readonly lastLookup?: { readonly iso: string; readonly shown: string; readonly ago: string };
  readonly never: string;
  readonly sources: Readonly<
    Record<
      string,
      {
        readonly contacts: string;
        readonly lastSync: string;
        readonly health: { readonly text: string; readonly tone: string };
        readonly underway: string;
        readonly error: string;
      }
    >
  >;
}

export function liveOverview(ctx: PageContext, data: OverviewData): LiveOverview {
  const { lang, t } = ctx;
  const number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const lastAt = data.hour.lastAt;
  return {
    figures: {
      'per-minute': number.format(data.recent.lookups / 15),
      'lookups-hour': number.format(data.hour.lookups),
      'hit-share': share(data.hour.hits, data.hour.hits + data.hour.misses, lang),
      errors: number.format(data.hour.errors),
      ...Object.fromEntries(
        STATUSES.map((status) => [`outbox-${status}`, number.format(data.outbox[status])]),
      ),
    },
    ...(lastAt !== undefined && {
      lastLookup: {
        iso: new Date(lastAt).toISOString(),
        shown: new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'medium' }).format(lastAt),
        ago: `(${t('overview.ago', { time: age(ctx, data.now - lastAt) })})`,
      },
    }),
    never: t('overview.never'),
    sources: Object.fromEntries(
      data.sources.map((source) => [
        source.name,
        {
          contacts: source.contacts === undefined ? '-' : number.format(source.contacts),
          lastSync: lastSyncText(ctx, data.now, source),
          health: healthOf(ctx, source),
          underway: underwayText(ctx, source),
          error: source.state?.error ?? '',
        },
      ]),
    ),
  };
}
