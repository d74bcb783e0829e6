// Entry: the shell (skip link, top bar with role-aware navigation, language and large-text
// switches), the hash router and the readiness marker.

import { errorText } from './errors';
import './styles.css';
import { clearSession, me, onUnauthorized, post, token } from './api';
import { h, replace } from './dom';
import { L, lang, roleName, setLang } from './i18n';
import { PAGE_ROLES, homeOf, ready, type Ctx, type Page } from './page';
import { resetRefs } from './ref';
import { loginPage } from './pages/login';

// Pages other than login load on first use, so each screen fetches only its own code (the
// charts library comes with the dashboard, or with the portal's map when boundaries exist).
const lazy =
  (load: () => Promise<Page>): Page =>
  async (ctx) =>
    (await load())(ctx);
const portalPage = lazy(() => import('./pages/portal').then((m) => m.portalPage));
const hotlinePage = lazy(() => import('./pages/hotline').then((m) => m.hotlinePage));
const dispatchPage = lazy(() => import('./pages/dispatch').then((m) => m.dispatchPage));
const workbenchPage = lazy(() => import('./pages/workbench').then((m) => m.workbenchPage));
// The dashboard's first requests start while its code (with the charts library) still loads.
const dashboardPage: Page = async (ctx) => {
  const { fetchDashboard } = await import('./pages/dashboard-data');
  const data = fetchDashboard(null, 'district', ctx.signal);
  data.catch(() => undefined);
  const { dashboardPage: page } = await import('./pages/dashboard');
  return page(ctx, data);
};
const adminPage = lazy(() => import('./pages/admin').then((m) => m.adminPage));
const dataPage = lazy(() => import('./pages/data').then((m) => m.dataPage));
const openDataPage = lazy(() => import('./pages/opendata').then((m) => m.openDataPage));
const insightPage = lazy(() => import('./pages/insight').then((m) => m.insightPage));
const sandboxPage = lazy(() => import('./pages/sandbox').then((m) => m.sandboxPage));
const sensorsPage = lazy(() => import('./pages/sensors').then((m) => m.sensorsPage));
const joinPage = lazy(() => import('./pages/join').then((m) => m.joinPage));
const nearMapPage = lazy(() => import('./pages/nearmap').then((m) => m.nearMapPage));
const casePage = lazy(() => import('./pages/casepage').then((m) => m.casePage));
const mePage = lazy(() => import('./pages/me').then((m) => m.mePage));
const communityPage = lazy(() => import('./pages/community').then((m) => m.communityPage));
const answersPage = lazy(() => import('./pages/answers').then((m) => m.answersPage));
const arbiterPage = lazy(() => import('./pages/cohandle').then((m) => m.arbiterPage));
const responsibilityPage = lazy(() => import('./pages/cohandle').then((m) => m.responsibilityPage));

interface Route {
  title: () => string;
  /** null: open to everyone, without login. */
  roles: string[] | null;
  page: Page;
}

const ROUTES: Record<string, Route> = {
  login: { title: () => L('登录', 'Log in'), roles: null, page: loginPage },
  portal: { title: () => L('市民诉求', 'Citizen portal'), roles: null, page: portalPage },
  hotline: { title: () => L('热线受理', 'Hotline'), roles: PAGE_ROLES.hotline, page: hotlinePage },
  dispatch: {
    title: () => L('派遣台', 'Dispatch'),
    roles: PAGE_ROLES.dispatch, page: dispatchPage,
  },
  workbench: {
    title: () => L('部门工作台', 'Workbench'),
    roles: PAGE_ROLES.workbench, page: workbenchPage,
  },
  dashboard: {
    title: () => L('城市驾驶舱', 'City dashboard'),
    roles: PAGE_ROLES.dashboard, page: dashboardPage,
  },
  insight: { title: () => L('民情与考核', 'Insight'), roles: PAGE_ROLES.insight, page: insightPage },
  sandbox: { title: () => L('政策沙盘', 'Sandbox'), roles: PAGE_ROLES.sandbox, page: sandboxPage },
  sensors: { title: () => L('物联感知', 'Sensors'), roles: PAGE_ROLES.sensors, page: sensorsPage },
  admin: { title: () => L('系统管理', 'Administration'), roles: PAGE_ROLES.admin, page: adminPage },
  data: { title: () => L('数据共享', 'Data sharing'), roles: PAGE_ROLES.data, page: dataPage },
  'open-data': { title: () => L('数据开放', 'Open data'), roles: null, page: openDataPage },
  join: { title: () => L('手机号登录', 'Phone login'), roles: null, page: joinPage },
  me: { title: () => L('我的', 'My page'), roles: PAGE_ROLES.me, page: mePage },
  map: { title: () => L('附近的问题', 'Reports near you'), roles: null, page: nearMapPage },
  case: { title: () => L('案件公开页', 'Case page'), roles: null, page: casePage },
  community: { title: () => L('社区议事', 'Community'), roles: null, page: communityPage },
  answers: { title: () => L('一次性答复', 'One-stop answers'), roles: PAGE_ROLES.answers, page: answersPage },
  arbiter: { title: () => L('争议仲裁', 'Arbitration'), roles: PAGE_ROLES.arbiter, page: arbiterPage },
  responsibility: { title: () => L('权责清单', 'Responsibility list'), roles: null, page: responsibilityPage },
};

const NAV_ORDER = ['portal', 'hotline', 'dispatch', 'workbench', 'dashboard', 'insight', 'sensors', 'admin', 'data', 'open-data', 'sandbox', 'arbiter', 'responsibility', 'map', 'me', 'community', 'answers'];

const LARGE_KEY = 'urbis.large';

function applyLarge(on: boolean): void {
  document.documentElement.classList.toggle('large-text', on);
  localStorage.setItem(LARGE_KEY, on ? '1' : '0');
}

const app = document.getElementById('app') as HTMLElement;
let current: { controller: AbortController; disposers: (() => void)[] } | null = null;
let generation = 0;

function parseHash(): { name: string; params: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?', 2);
  return { name: path || '', params: new URLSearchParams(query ?? '') };
}

function header(active: string): HTMLElement {
  const user = me();
  const links = NAV_ORDER.filter((name) => {
    const r = ROUTES[name];
    return r.roles === null || (user !== null && r.roles.includes(user.role));
  }).map((name) =>
    h(
      'li',
      null,
      h(
        'a',
        { href: `#/${name}`, 'aria-current': name === active ? 'page' : undefined, class: name === active ? 'active' : undefined },
        ROUTES[name].title(),
      ),
    ),
  );
  const large = document.documentElement.classList.contains('large-text');
  const langBtn = h(
    'button',
    {
      type: 'button',
      class: 'ghost',
      lang: lang() === 'en' ? 'zh-CN' : 'en',
      'aria-label': lang() === 'en' ? '切换到中文' : 'Switch to English',
      onclick: () => {
        setLang(lang() === 'en' ? 'zh-CN' : 'en');
        route();
      },
    },
    lang() === 'en' ? '中文' : 'English',
  );
  const largeBtn = h(
    'button',
    {
      type: 'button',
      class: 'ghost',
      'aria-pressed': large ? 'true' : 'false',
      onclick: () => {
        applyLarge(!document.documentElement.classList.contains('large-text'));
        largeBtn.setAttribute('aria-pressed', document.documentElement.classList.contains('large-text') ? 'true' : 'false');
      },
    },
    L('大字模式', 'Large text'),
  );
  const account = user
    ? h(
        'div',
        { class: 'account' },
        h('span', { class: 'who' }, `${user.username} · ${roleName(user.role)}`),
        h(
          'button',
          {
            type: 'button',
            class: 'ghost',
            onclick: async () => {
              try {
                await post('/api/v1/auth/logout');
              } catch {
                // the session is dropped locally either way
              }
              clearSession();
              resetRefs();
              location.hash = '#/login';
            },
          },
          L('退出', 'Log out'),
        ),
      )
    : h('a', { href: '#/login', class: 'button ghost' }, L('登录', 'Log in'));
  return h(
    'header',
    { class: 'topbar' },
    h('a', { class: 'brand', href: `#/${homeOf(user?.role)}` }, h('span', { 'aria-hidden': 'true', class: 'logo' }, '城'), L('城治 Urbis', 'Urbis 城治')),
    h('nav', { 'aria-label': L('主导航', 'Main navigation') }, h('ul', null, links)),
    h('div', { class: 'tools' }, langBtn, largeBtn, account),
  );
}

async function route(): Promise<void> {
  generation += 1;
  const gen = generation;
  ready(false);
  if (current) {
    current.controller.abort();
    for (const fn of current.disposers) {
      try {
        fn();
      } catch {
        // a failing cleanup must not block navigation
      }
    }
  }
  const { name, params } = parseHash();
  const user = me();
  if (!ROUTES[name]) {
    location.replace(`#/${user ? homeOf(user.role) : 'portal'}`);
    return;
  }
  const r = ROUTES[name];
  if (r.roles !== null && !token()) {
    location.replace(`#/login?next=${encodeURIComponent(name)}`);
    return;
  }
  const controller = new AbortController();
  const disposers: (() => void)[] = [];
  current = { controller, disposers };
  document.title = `${r.title()} · ${L('城治', 'Urbis')}`;
  document.body.className = `page-${name}`;
  const main = h('main', { id: 'main', tabindex: '-1' });
  replace(app, header(name), main);
  const skip = document.querySelector<HTMLAnchorElement>('.skip-link');
  if (skip) skip.textContent = L('跳到主要内容', 'Skip to main content');
  if (r.roles !== null && user && !r.roles.includes(user.role)) {
    replace(
      main,
      h('h1', null, r.title()),
      h('p', null, L(`${roleName(user.role)}无权使用此页面。`, `This page is not available to the ${roleName(user.role)} role.`)),
      h('p', null, h('a', { href: `#/${homeOf(user.role)}` }, L('回到我的首页', 'Go to my start page'))),
    );
    ready(true);
    return;
  }
  const ctx: Ctx = {
    main,
    signal: controller.signal,
    dispose: (fn) => disposers.push(fn),
    params,
    rerender: () => void route(),
  };
  try {
    await r.page(ctx);
  } catch (e) {
    if (controller.signal.aborted || (e as Error).name === 'AbortError') return;
    main.appendChild(h('p', { class: 'status error', role: 'alert' }, `${L('页面加载失败：', 'The page failed to load: ')}${errorText(e)}`));
  }
  if (gen === generation && !controller.signal.aborted) ready(true);
}

setLang(lang());
applyLarge(localStorage.getItem(LARGE_KEY) === '1');
document.querySelector('.skip-link')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  const main = document.getElementById('main');
  main?.focus();
});
onUnauthorized(() => {
  clearSession();
  resetRefs();
  const { name } = parseHash();
  if (name !== 'login' && name !== 'portal') location.hash = `#/login?next=${encodeURIComponent(name)}`;
});
window.addEventListener('hashchange', () => void route());
void route();
