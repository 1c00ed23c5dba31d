import type { AuditEntry } from '../../store/admin-types.js';
import { en, type MessageKey } from '../messages/en.js';
import { Csrf, Layout, Notice, type PageContext, Time } from './layout.js';

/** One header the CONNECTOR must send; the value only once the viewer asked for it. */
export interface HeaderSetting {
  readonly name: string;
  readonly value?: string;
}

/** The tokens the console may rotate: each by its id (never its value), oldest first. */
export interface TokenList {
  readonly keptIn: string;
  readonly ids: readonly string[];
}

export function ConnectorPage(props: {
  ctx: PageContext;
  rootUrl: string;
  /** Each accepted set of headers (usually one header). */
  sets: readonly (readonly HeaderSetting[])[];
  canReveal: boolean;
  /** Absent when the tokens are set in the configuration. */
  tokens?: TokenList;
  /** A token just added: shown this once. */
  fresh?: string;
  news?: string;
  error?: string;
}) {
  const { ctx, tokens } = props;
  const { t } = ctx;
  return (
    <Layout ctx={ctx} title={t('connector.title')} page="connector">
      {props.news && <Notice kind="status">{props.news}</Notice>}
      {props.error && <Notice kind="alert">{props.error}</Notice>}
      {props.fresh !== undefined && (
        <section class="fresh" aria-labelledby="fresh-token">
          <h2 id="fresh-token">{t('connector.newToken')}</h2>
          <Notice kind="status">{t('connector.added')}</Notice>
          <Copyable ctx={ctx} id="new-token" value={props.fresh} label={t('connector.newToken')} />
        </section>
      )}
      <p>{t('connector.intro')}</p>
      <dl class="settings">
        <dt>{t('connector.rootUrl')}</dt>
        <dd>
          <Copyable ctx={ctx} id="root-url" value={props.rootUrl} label={t('connector.rootUrl')} />
          <span class="detail">{t('connector.rootHint')}</span>
        </dd>
      </dl>
      {props.sets.length === 0 && <p>{t('connector.noToken')}</p>}
      {props.sets.map((set, index) => (
        <dl class="settings" data-set={index}>
          {set.map((header, position) => (
            <>
              <dt>{t('connector.headerName')}</dt>
              <dd>
                <Copyable
                  ctx={ctx}
                  id={`name-${index}-${position}`}
                  value={header.name}
                  label={t('connector.headerName')}
                />
              </dd>
              <dt>{t('connector.headerValue')}</dt>
              <dd>
                {header.value !== undefined ? (
                  <Copyable
                    ctx={ctx}
                    id={`value-${index}-${position}`}
                    value={header.value}
                    label={t('connector.headerValue')}
                  />
                ) : (
                  <span class="quiet" data-hidden-value>
                    {t('connector.hidden')}
                  </span>
                )}
              </dd>
            </>
          ))}
        </dl>
      ))}
      {props.canReveal &&
        props.sets.length > 0 &&
        props.sets.every((set) => set.every((h) => h.value === undefined)) && (
          <form method="post" action={`${ctx.base}/connector/reveal`}>
            <Csrf ctx={ctx} />
            <button type="submit">{t('connector.reveal')}</button>
          </form>
        )}
      <h2>{t('connector.rotate')}</h2>
      {tokens ? (
        <>
          <p>{t('connector.rotateIntro', { keptIn: tokens.keptIn })}</p>
          <ul class="tokens">
            {tokens.ids.map((id, index) => (
              <li data-token={id}>
                <span class="token-id">{t('connector.token', { id })}</span>
                {index === tokens.ids.length - 1 && tokens.ids.length > 1 && (
                  <span class="quiet"> ({t('connector.tokenNew')})</span>
                )}
                {props.canReveal && tokens.ids.length > 1 && (
                  <form method="post" action={`${ctx.base}/connector/tokens/retire`}>
                    <Csrf ctx={ctx} />
                    <input type="hidden" name="token" value={id} />
                    <button type="submit" class="danger">
                      {t('connector.retire', { id })}
                    </button>
                  </form>
                )}
              </li>
            ))}
          </ul>
          {props.canReveal && (
            <form method="post" action={`${ctx.base}/connector/tokens/add`}>
              <Csrf ctx={ctx} />
              <button type="submit">{t('connector.addToken')}</button>
            </form>
          )}
        </>
      ) : (
        <p>{t('connector.configured')}</p>
      )}
    </Layout>
  );
}

/** A value in a read-only field with a copy button (the button works with the console's script). */
function Copyable(props: { ctx: PageContext; id: string; value: string; label: string }) {
  const { t } = props.ctx;
  return (
    <span class="copyable">
      <input
        id={props.id}
        readonly
        value={props.value}
        aria-label={props.label}
        size={Math.min(60, props.value.length + 2)}
      />
      <button type="button" data-copy={props.id} data-copied={t('connector.copied')} hidden>
        {t('connector.copy')}
      </button>
    </span>
  );
}

/** An audit entry's action in the page's language; one not in the catalogue as recorded. */
function actionName(t: PageContext['t'], action: string): string {
  const key = `action.${action}` as MessageKey;
  return Object.hasOwn(en, key) ? t(key) : action;
}

export function AuditPage(props: {
  ctx: PageContext;
  entries: readonly AuditEntry[];
  next?: number;
  paged: boolean;
}) {
  const { ctx, entries } = props;
  const { t } = ctx;
  return (
    <Layout ctx={ctx} title={t('audit.title')} page="audit">
      {entries.length === 0 ? (
        <p>{t('audit.none')}</p>
      ) : (
        <div class="scroll" tabindex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('audit.when')}</th>
                <th scope="col">{t('audit.who')}</th>
                <th scope="col">{t('audit.what')}</th>
                <th scope="col">{t('audit.subject')}</th>
                <th scope="col">{t('audit.address')}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr data-action={entry.action}>
                  <td>
                    <Time ctx={ctx} at={entry.at} />
                  </td>
                  <td>{entry.actor}</td>
                  <td>{actionName(t, entry.action)}</td>
                  <td>{entry.subject ?? ''}</td>
                  <td>{entry.address ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pages" aria-label={t('audit.title')}>
        {props.paged && <a href={`${ctx.base}/audit`}>{t('audit.newest')}</a>}
        {props.next !== undefined && (
          <a rel="next" href={`${ctx.base}/audit?before=${props.next}`}>
            {t('audit.older')}
          </a>
        )}
      </nav>
    </Layout>
  );
}
