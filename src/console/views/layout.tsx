import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { AdminRole } from '../../store/admin-types.js';
import { LANGS, LANGUAGES, type Lang, type Translate } from '../i18n.js';
import type { MessageKey } from '../messages/en.js';

/** The pages with a place in the navigation. */
export type PageName = 'overview' | 'test' | 'calls' | 'contacts' | 'connector' | 'audit';

const NAVIGATION: readonly { page: PageName; path: string; label: MessageKey }[] = [
  { page: 'overview', path: '', label: 'nav.overview' },
  { page: 'test', path: '/test', label: 'nav.test' },
  { page: 'calls', path: '/calls', label: 'nav.calls' },
  { page: 'contacts', path: '/contacts', label: 'nav.contacts' },
  { page: 'connector', path: '/connector', label: 'nav.connector' },
  { page: 'audit', path: '/audit', label: 'nav.audit' },
];

/** Who is signed in, as the pages show them. */
export interface Viewer {
  readonly name: string;
  readonly role: AdminRole;
}

/** What every page is drawn with. */
export interface PageContext {
  readonly t: Translate;
  readonly lang: Lang;
  /** The console's path (`/acme/admin`): every link and form starts with it. */
  readonly base: string;
  /** The path and query of this page, for the language links to come back to. */
  readonly here: string;
  /** The token every form that changes something carries. */
  readonly csrf: string;
  readonly tenant: string;
  readonly viewer?: Viewer;
}

export function Layout(props: {
  ctx: PageContext;
  title: string;
  page?: PageName;
  children: ComponentChildren;
}) {
  const { ctx, title, page, children } = props;
  const { t, base, viewer } = ctx;
  return (
    <html lang={ctx.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · ${t('app.title')}`}</title>
        <link rel="stylesheet" href={`${base}/assets/console.css`} />
        <script src={`${base}/assets/console.js`} defer />
      </head>
      <body>
        <a class="skip" href="#content">
          {t('app.skip')}
        </a>
        <header class="top">
          <p class="brand">
            {t('app.title')}
            {viewer && ctx.tenant !== 'default' && <span class="tenant"> · {ctx.tenant}</span>}
          </p>
          {viewer && (
            <nav aria-label={t('nav.label')}>
              <ul>
                {NAVIGATION.map((item) => (
                  <li>
                    <a href={`${base}${item.path}`} aria-current={item.page === page ? 'page' : undefined}>
                      {t(item.label)}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {viewer && (
            <form class="who" method="post" action={`${base}/sign-out`}>
              <span>{t('nav.signedInAs', { name: viewer.name, role: t(`role.${viewer.role}`) })}</span>
              <input type="hidden" name="_csrf" value={ctx.csrf} />
              <button type="submit">{t('nav.signOut')}</button>
            </form>
          )}
        </header>
        <main id="content">
          <h1>{title}</h1>
          {children}
        </main>
        <footer>
          <nav aria-label={t('nav.language')}>
            <ul class="langs">
              {LANGS.map((lang) => (
                <li>
                  <a
                    href={`${base}/language?to=${lang}&back=${encodeURIComponent(ctx.here)}`}
                    lang={lang}
                    hreflang={lang}
                    aria-current={lang === ctx.lang ? 'true' : undefined}
                  >
                    {LANGUAGES[lang]['lang.name']}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        </footer>
      </body>
    </html>
  );
}

/** A page as HTML text. */
export function html(node: VNode): string {
  return `<!doctype html>${renderToString(node)}`;
}

/** A notice above a page's content: `status` for news, `alert` for a refusal. */
export function Notice(props: { kind: 'status' | 'alert'; children: ComponentChildren }) {
  return (
    <p class={`notice ${props.kind}`} role={props.kind}>
      {props.children}
    </p>
  );
}

/** The hidden field of a form that changes something. */
export function Csrf(props: { ctx: PageContext }) {
  return <input type="hidden" name="_csrf" value={props.ctx.csrf} />;
}

/** A time in the page's language, with the machine-readable form in `datetime`. */
export function Time(props: { ctx: PageContext; at: number | undefined }) {
  if (props.at === undefined || !Number.isFinite(props.at)) return <span>-</span>;
  const date = new Date(props.at);
  const shown = new Intl.DateTimeFormat(props.ctx.lang, { dateStyle: 'medium', timeStyle: 'medium' }).format(
    date,
  );
  return <time datetime={date.toISOString()}>{shown}</time>;
}

/** How long ago, roughly, in the page's language ("3 minutes"). */
export function age(ctx: PageContext, ms: number): string {
  const format = (value: number, unit: Intl.RelativeTimeFormatUnit) =>
    new Intl.NumberFormat(ctx.lang, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return format(seconds, 'second');
  if (seconds < 3600) return format(Math.round(seconds / 60), 'minute');
  if (seconds < 172_800) return format(Math.round(seconds / 3600), 'hour');
  return format(Math.round(seconds / 86_400), 'day');
}
