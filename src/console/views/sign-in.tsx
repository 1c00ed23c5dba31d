import { Csrf, Layout, Notice, type PageContext } from './layout.js';

export function SignInPage(props: { ctx: PageContext; name?: string; error?: string; news?: string }) {
  const { ctx } = props;
  const { t } = ctx;
  return (
    <Layout ctx={ctx} title={t('signIn.title')}>
      {props.news && <Notice kind="status">{props.news}</Notice>}
      {props.error && <Notice kind="alert">{props.error}</Notice>}
      <form class="narrow" method="post" action={`${ctx.base}/sign-in`}>
        <Csrf ctx={ctx} />
        <label for="name">{t('signIn.name')}</label>
        <input id="name" name="name" autocomplete="username" required value={props.name ?? ''} />
        <label for="password">{t('signIn.password')}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit">{t('signIn.submit')}</button>
      </form>
    </Layout>
  );
}

export function PasswordPage(props: { ctx: PageContext; min: number; error?: string }) {
  const { ctx } = props;
  const { t } = ctx;
  return (
    <Layout ctx={ctx} title={t('password.title')}>
      <p>{t('password.intro', { min: props.min })}</p>
      {props.error && <Notice kind="alert">{props.error}</Notice>}
      <form class="narrow" method="post" action={`${ctx.base}/password`}>
        <Csrf ctx={ctx} />
        {/* The name lets password managers file the new password under the right account. */}
        <input type="hidden" name="name" autocomplete="username" value={ctx.viewer?.name ?? ''} />
        <label for="password">{t('password.new')}</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          minlength={props.min}
          required
        />
        <label for="repeat">{t('password.repeat')}</label>
        <input
          id="repeat"
          name="repeat"
          type="password"
          autocomplete="new-password"
          minlength={props.min}
          required
        />
        <button type="submit">{t('password.submit')}</button>
      </form>
    </Layout>
  );
}

export function ErrorPage(props: { ctx: PageContext; message: string }) {
  const { ctx } = props;
  return (
    <Layout ctx={ctx} title={ctx.t('error.title')}>
      <Notice kind="alert">{props.message}</Notice>
      <p>
        <a href={ctx.base}>{ctx.t('error.back')}</a>
      </p>
    </Layout>
  );
}
