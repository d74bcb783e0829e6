// City dashboard (wall screen, dark): the area map coloured by open and overdue cases with
// drill-down district → street → community → grid, today's intake, 三率 and 按期结案率, trends,
// appeals by level-1 category, department and street rankings, and a live feed over server-sent
// events. Every request of the first view goes out at once and reads only aggregates. This file
// lays the page out and loads a scope; the key figures are drawn by dashboard-kpis.ts, the map by
// dashboard-map.ts and the other charts by dashboard-panels.ts.

import { errorText } from '../errors';
import { h, replace } from '../dom';
import { L, lang } from '../i18n';
import type { Ctx } from '../page';
import { fetchDashboard, localDay, type DashboardData } from './dashboard-data';
import { openSse } from '../sse';
import { disposeChart, makeChart, type ECharts } from '../charts';
import { fetchComparisons } from './dashboard-extra';
import { figureDialog } from './dashboard-figures';
import { liveFeed, type CaseEvent } from './dashboard-feed';
import { renderKpis } from './dashboard-kpis';
import { drawMap } from './dashboard-map';
import { renderPanels } from './dashboard-panels';
import { fs, type Scope } from './dashboard-view';

export async function dashboardPage(ctx: Ctx, prefetched?: Promise<DashboardData>): Promise<void> {
  document.body.classList.add('dark');
  ctx.dispose(() => document.body.classList.remove('dark'));
  const charts: ECharts[] = [];
  ctx.dispose(() => charts.forEach(disposeChart));

  const stack: Scope[] = [{ id: null, name: L('全市', 'Whole city'), child: 'district' }];

  // ---- Layout ----
  const errorBox = h('p', { class: 'status error', role: 'alert', hidden: true });
  const crumbs = h('nav', { class: 'crumbs', 'aria-label': L('区域层级', 'Area level') });
  const clock = h('span', { class: 'clock', 'aria-hidden': 'true' });
  const fullBtn = h('button', { type: 'button', class: 'ghost-dark' }, L('全屏', 'Full screen'));
  fullBtn.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void document.documentElement.requestFullscreen?.().catch(() => undefined);
  });
  const liveState = h('span', { class: 'live-state', role: 'status' }, L('实时连接中…', 'Connecting…'));
  // Wall-screen mode: no app bar, every panel in one 1920×1080 view, larger chart text.
  const wallBtn = h('button', { type: 'button', class: 'ghost-dark', 'aria-pressed': 'false', 'data-testid': 'wall-mode' }, L('大屏模式', 'Wall screen'));
  const setWall = (on: boolean) => {
    document.body.classList.toggle('wall', on);
    wallBtn.setAttribute('aria-pressed', on ? 'true' : 'false');
  };
  setWall(ctx.params.get('wall') === '1');
  ctx.dispose(() => document.body.classList.remove('wall'));
  wallBtn.addEventListener('click', () => {
    setWall(!document.body.classList.contains('wall'));
    history.replaceState(null, '', document.body.classList.contains('wall') ? '#/dashboard?wall=1' : '#/dashboard');
    void safeLoad(true);
  });
  // Large-text mode switched on or off: the charts are drawn again at the new size.
  let wasLarge = document.documentElement.classList.contains('large-text');
  const largeWatch = new MutationObserver(() => {
    const large = document.documentElement.classList.contains('large-text');
    if (large === wasLarge) return;
    wasLarge = large;
    void safeLoad(true);
  });
  largeWatch.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
  ctx.dispose(() => largeWatch.disconnect());
  const kpis = h('div', { class: 'kpis', role: 'list', 'aria-label': L('关键指标', 'Key figures') });
  const mapEl = h('div', { class: 'chart map-chart' });
  const mapTable = h('div', { class: 'chart-table' });
  const mapTitle = h('h2', { id: 'map-h', tabindex: '-1' });
  // The map shows open and overdue cases per area, or the heat of where cases were reported.
  let heat = ctx.params.get('heat') === '1';
  const heatBtn = h('button', { type: 'button', class: 'ghost-dark map-mode', 'aria-pressed': String(heat), 'data-testid': 'heat-toggle' }, L('热力图', 'Heat map'));
  heatBtn.addEventListener('click', () => {
    heat = !heat;
    heatBtn.setAttribute('aria-pressed', String(heat));
    void safeLoad(true);
  });
  const streetTitle = h('h2', { id: 'street-h' });
  const feed = h('ol', { class: 'feed', 'aria-live': 'polite', 'aria-relevant': 'additions', 'data-testid': 'feed' });
  const trendEl = h('div', { class: 'chart' });
  const trendTable = h('div', { class: 'chart-table' });
  const deptEl = h('div', { class: 'chart tall' });
  const deptTable = h('div', { class: 'chart-table' });
  const streetEl = h('div', { class: 'chart tall' });
  const streetTable = h('div', { class: 'chart-table' });
  const stateEl = h('div', { class: 'chart' });
  const stateTable = h('div', { class: 'chart-table' });
  const catEl = h('div', { class: 'chart tall', 'data-testid': 'category-trend' });
  const catTable = h('div', { class: 'chart-table' });
  const catNote = h('p', { class: 'muted', hidden: true }, L('近30天没有诉求。', 'No appeals in the last 30 days.'));
  const alertList = h('ul', { class: 'alerts', 'data-testid': 'alerts' });
  const areaCaseBox = h('div', { class: 'area-case-box', 'aria-live': 'polite', 'data-testid': 'area-cases' });

  const panel = (id: string, title: string | HTMLElement, ...body: (HTMLElement | null)[]) =>
    h('section', { class: `panel p-${id.replace('-h', '')}`, 'aria-labelledby': id }, typeof title === 'string' ? h('h2', { id }, title) : title, ...body);

  const catPanel = panel('cat-h', L('近30天各类诉求', 'Appeals by category, last 30 days'), catEl, catNote, catTable);
  const grid = h(
    'div',
    { class: 'dash-grid' },
    panel('map-h', mapTitle, heatBtn, mapEl, areaCaseBox, mapTable),
    panel('feed-h', L('实时动态', 'Live feed'), feed),
    panel('alert-h', L('预警（超期 / 激增）', 'Alerts (overdue / surge)'), alertList),
    panel('trend-h', L('近30天趋势', 'Last 30 days'), trendEl, trendTable),
    panel('state-h', L('在办案件状态', 'Open cases by state'), stateEl, stateTable),
    catPanel,
    panel('dept-h', L('部门排名（按期结案率）', 'Departments (on-time closure)'), deptEl, deptTable),
    panel('street-h', streetTitle, streetEl, streetTable),
  );
  // The cases behind any figure, in one dialog.
  let areaNameOf = (id: number) => `#${id}`;
  const figures = figureDialog(() => areaNameOf, ctx.signal);
  const period = () => ({ from: localDay(-29), to: localDay() });
  ctx.main.append(
    h('div', { class: 'dash-head' }, h('h1', null, L('城市运行驾驶舱', 'City dashboard')), crumbs, h('div', { class: 'dash-meta' }, clock, liveState, wallBtn, fullBtn)),
    errorBox,
    kpis,
    grid,
    figures.el,
  );
  const tickClock = () => (clock.textContent = new Date().toLocaleString(lang(), { hour12: false }));
  tickClock();
  const clockTimer = window.setInterval(tickClock, 1000);
  ctx.dispose(() => window.clearInterval(clockTimer));

  const mapChart = makeChart(mapEl, L('区域案件地图', 'Map of cases by area'));
  const trendChart = makeChart(trendEl, L('近30天受理、立案、结案趋势', 'Appeals, registrations and closures over 30 days'));
  const deptChart = makeChart(deptEl, L('部门按期结案率排名', 'Departments ranked by on-time closure'));
  const streetChart = makeChart(streetEl, L('街道按期结案率排名', 'Streets ranked by on-time closure'));
  const stateChart = makeChart(stateEl, L('在办案件状态分布', 'Open cases by state'));
  const catChart = makeChart(catEl, L('近30天各一级分类诉求量', 'Appeals per day by top-level category over 30 days'));
  charts.push(mapChart, trendChart, deptChart, streetChart, stateChart, catChart);

  let todayCount = 0;
  const kpiValues = new Map<string, HTMLElement>();
  const renderCrumbs = () => {
    replace(
      crumbs,
      h(
        'ol',
        null,
        stack.map((s, i) =>
          h(
            'li',
            null,
            i === stack.length - 1
              ? h('span', { 'aria-current': 'location' }, s.name)
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'link',
                    onclick: () => {
                      stack.splice(i + 1);
                      void safeLoad();
                    },
                  },
                  s.name,
                ),
          ),
        ),
      ),
    );
  };

  const drill = async (scope: Scope) => {
    stack.push(scope);
    await safeLoad();
  };
  const safeLoad = async (quiet = false) => {
    try {
      await load(quiet);
      errorBox.hidden = true;
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      errorBox.hidden = false;
      errorBox.textContent = `${L('数据加载失败：', 'Loading failed: ')}${errorText(e)}`;
    }
  };

  let loading = 0;
  const load = async (quiet = false) => {
    const mine = ++loading;
    const scope = stack[stack.length - 1];
    renderCrumbs();
    const pre = prefetched && scope.id === null ? prefetched : null;
    prefetched = undefined;
    const [data, cmp] = await Promise.all([pre ?? fetchDashboard(scope.id, scope.child, ctx.signal), fetchComparisons(scope.id, ctx.signal)]);
    if (mine !== loading) return;
    const areaNames = new Map(data.areas.map((a) => [a.id, a.name]));
    areaNameOf = (id) => areaNames.get(id) ?? `#${id}`;
    const openFigure = (ask: Parameters<typeof figures.open>[0], from?: HTMLElement) => void figures.open(ask, from);
    todayCount = renderKpis(kpis, kpiValues, { scope, data, cmp, period: period(), openFigure, signal: ctx.signal });
    await Promise.all([
      drawMap({ chart: mapChart, el: mapEl, table: mapTable, title: mapTitle, caseBox: areaCaseBox }, scope, data.loads, data.geo, areaNames, { heat, signal: ctx.signal, drill: (s) => void drill(s) }),
      renderPanels(
        { grid, alertList, trendEl, trendTable, trendChart, stateEl, stateTable, stateChart, catPanel, catEl, catNote, catTable, catChart, deptEl, deptTable, deptChart, streetTitle, streetEl, streetTable, streetChart },
        { scope, data, todayCount, period: period(), openFigure },
      ),
    ]);
    for (const el of [mapEl, trendEl, deptEl, streetEl, stateEl, catEl]) el.dataset.font = String(fs());
    if (!quiet) mapTitle.focus();
  };

  await load(true);

  // ---- Live feed ----
  // At most one quiet refresh every few seconds, however busy the stream is.
  let refreshTimer: number | undefined;
  const quietRefresh = Object.assign(
    () => {
      if (refreshTimer !== undefined) return;
      refreshTimer = window.setTimeout(() => {
        refreshTimer = undefined;
        void safeLoad(true);
      }, 3000);
    },
    { cancel: () => window.clearTimeout(refreshTimer) },
  );
  const live = liveFeed(feed, ctx.signal);
  const sse = openSse(
    '/api/v1/events',
    (msg) => {
      // The server could not replay what this screen missed while disconnected: reload.
      if (msg.event === 'reset') {
        quietRefresh();
        return;
      }
      if (msg.event !== 'case' && msg.event !== 'message') return;
      let ev: CaseEvent;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (live.add(ev)) {
        todayCount += 1;
        const v = kpiValues.get('today');
        if (v) (v.querySelector('a') ?? v).textContent = String(todayCount);
      }
      quietRefresh();
    },
    (state) => {
      liveState.textContent = state === 'open' ? L('● 实时', '● Live') : state === 'error' ? L('实时连接不可用', 'Live feed unavailable') : L('重新连接中…', 'Reconnecting…');
      liveState.classList.toggle('on', state === 'open');
    },
  );
  ctx.dispose(() => {
    sse.close();
    quietRefresh.cancel();
  });
  if (!feed.children.length) feed.append(h('li', { class: 'muted placeholder' }, L('等待新的案件动态…', 'Waiting for case events…')));
  void live.prefill(null).catch(() => undefined);
}
