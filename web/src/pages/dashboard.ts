// City dashboard (wall screen, dark): the area map coloured by open and overdue cases with
// drill-down district → street → community → grid, today's intake, 三率 and 按期结案率, trends,
// appeals by level-1 category, department and street rankings, and a live feed over server-sent events. Every request of the
// first view goes out at once and reads only aggregates.

import { errorText } from '../errors';
import type { Indicators, Keyed } from '../api';
import { h, pct, replace } from '../dom';
import { escapeHtml } from '../escape';
import { L, lang, stateName } from '../i18n';
import type { Ctx } from '../page';
import { byId } from '../ref';
import { LEVELS, fetchDashboard, localDay, type AreaLoad, type DashboardData, type Level } from './dashboard-data';
import { openSse } from '../sse';
import { disposeChart, draw, makeChart, registerGeo, type ECharts, type GeoJsonCollection } from '../charts';
import { fetchDensity, heatOption, heatSummary } from './dashboard-heat';
import { areaCases, caseListLink, change, fetchComparisons, fillChannelMix, redBlack, renderAlerts } from './dashboard-extra';
import { figureButton, figureDialog } from './dashboard-figures';
import { liveFeed, type CaseEvent } from './dashboard-feed';
import { CAT_COLORS, OTHER, categorySeries, levelName } from './dashboard-category';

interface Scope {
  id: number | null;
  name: string;
  /** The level shown on the map inside this scope. */
  child: Level;
}

const TEXT = '#e6edf3';
const MUTED = '#a9b8c9';
const AXIS = '#3b5068';
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
  /** Chart text size: larger on the wall screen and in large-text mode (larger still with both). */
  const fs = () => {
    const large = document.documentElement.classList.contains('large-text');
    if (document.body.classList.contains('wall')) return large ? 18 : 16;
    return large ? 16 : 12;
  };
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
  const kpi = (key: string, label: string, value: string | HTMLElement, sub?: string, deltas: ({ text: string; dir: string } | null)[] = []) => {
    const v = h('div', { class: 'kpi-value', 'data-kpi': key }, value);
    kpiValues.set(key, v);
    return h(
      'div',
      { class: 'kpi', role: 'listitem' },
      h('div', { class: 'kpi-label' }, label),
      v,
      sub ? h('div', { class: 'kpi-sub' }, sub) : null,
      deltas.filter((d) => d !== null).map((d) => h('div', { class: `kpi-delta ${d!.dir}`, 'data-delta': key }, d!.text)),
    );
  };

  const tableOf = (caption: string, head: string[], rows: (string | number | HTMLElement)[][]) =>
    h(
      'details',
      null,
      h('summary', null, L('以表格查看', 'Show as table')),
      h(
        'table',
        { class: 'data' },
        h('caption', null, caption),
        h('thead', null, h('tr', null, head.map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c instanceof HTMLElement ? c : String(c)) : h('td', null, c instanceof HTMLElement ? c : String(c))))))),
      ),
    );

  const axisStyle = () => ({
    axisLine: { lineStyle: { color: AXIS } },
    axisLabel: { color: MUTED, fontSize: fs() },
    splitLine: { lineStyle: { color: '#1f3144' } },
  });

  const drawMap = async (scope: Scope, loads: AreaLoad[], geo: GeoJsonCollection | null, names: Map<number, string>) => {
    const byArea = new Map(loads.map((l) => [l.area_id, l]));
    mapTitle.textContent = `${scope.name} · ${L(`各${levelName(scope.child)}在办与超期`, `open and overdue by ${levelName(scope.child)}`)}`;
    const features = geo?.features.filter((f) => f.geometry) ?? [];
    const rowsForTable: (string | number)[][] = [];
    const nameOf = (id: number) => names.get(id) ?? geo?.features.find((f) => f.properties.id === id)?.properties.name ?? `#${id}`;
    const ids = new Set<number>([...loads.map((l) => l.area_id), ...(geo?.features.map((f) => f.properties.id) ?? [])]);
    for (const id of ids) {
      const l = byArea.get(id);
      rowsForTable.push([nameOf(id), l?.open ?? 0, l?.overdue ?? 0]);
    }
    rowsForTable.sort((a, b) => Number(b[1]) - Number(a[1]));
    replace(mapTable, tableOf(mapTitle.textContent ?? '', [L('区域', 'Area'), L('在办', 'Open'), L('超期', 'Overdue')], rowsForTable));
    const canDrill = LEVELS.indexOf(scope.child) < LEVELS.length - 1;
    const top = rowsForTable.slice(0, 3).map((r) => `${r[0]} ${r[1]}`).join('，');
    mapEl.setAttribute('aria-label', `${mapTitle.textContent}。${L('在办最多：', 'Most open: ')}${top || '—'}`);
    const max = Math.max(1, ...loads.map((l) => l.open));
    const mapName = `urbis-dash-${scope.id ?? 'root'}-${scope.child}`;
    if (features.length) {
      registerGeo(mapName, { type: 'FeatureCollection', features: features.map((f) => ({ ...f, properties: { ...f.properties, name: String(f.properties.id) } })) });
    }
    delete mapEl.dataset.cells;
    if (features.length && heat) {
      const cells = await fetchDensity(scope.id, ctx.signal);
      mapEl.setAttribute('aria-label', `${mapTitle.textContent}。${heatSummary(cells)}`);
      mapEl.dataset.cells = String(cells.length);
      await draw(mapChart, heatOption(mapName, cells, fs(), TEXT));
    } else if (features.length) {
      await draw(mapChart, {
        animation: false,
        backgroundColor: 'transparent',
        tooltip: {
          formatter: (p: { name: string }) => {
            const id = Number(p.name);
            const l = byArea.get(id);
            return `${escapeHtml(nameOf(id))}<br/>${escapeHtml(L('在办', 'Open'))} ${l?.open ?? 0}<br/>${escapeHtml(L('超期', 'Overdue'))} ${l?.overdue ?? 0}`;
          },
        },
        visualMap: {
          min: 0,
          max,
          left: 8,
          bottom: 8,
          text: [L('多', 'more'), L('少', 'fewer')],
          textStyle: { color: TEXT, fontSize: fs() },
          inRange: { color: ['#16324f', '#2f6e9e', '#f2c14e', '#e4572e'] },
          calculable: false,
        },
        series: [
          {
            type: 'map',
            map: mapName,
            roam: false,
            selectedMode: false,
            label: {
              show: true,
              color: '#fff',
              textBorderColor: '#0b1622',
              textBorderWidth: 3,
              fontSize: fs(),
              formatter: (p: { name: string }) => {
                const l = byArea.get(Number(p.name));
                // Many small areas (grids): only the busy ones get a label, the table has them all.
                if (features.length > 24) return l?.open ? String(l.open) : '';
                return `${nameOf(Number(p.name))}\n${L('在办', 'open')} ${l?.open ?? 0}${l?.overdue ? ` · ${L('超期', 'overdue')} ${l.overdue}` : ''}`;
              },
            },
            itemStyle: { borderColor: '#8fb3d9', borderWidth: 1 },
            emphasis: { label: { color: '#fff' }, itemStyle: { areaColor: '#4b8bbe' } },
            data: features.map((f) => ({ name: String(f.properties.id), value: byArea.get(f.properties.id)?.open ?? 0 })),
          },
        ],
      });
    } else {
      // No boundaries stored for this level: the same numbers as bars, still clickable.
      const sorted = [...rowsForTable].reverse();
      await draw(mapChart, {
        animation: false,
        backgroundColor: 'transparent',
        tooltip: { trigger: 'axis' },
        legend: { top: 0, textStyle: { color: TEXT, fontSize: fs() }, data: [L('在办', 'Open'), L('超期', 'Overdue')] },
        grid: { left: 110, right: 20, top: 30, bottom: 20 },
        xAxis: { type: 'value', ...axisStyle() },
        yAxis: { type: 'category', data: sorted.map((r) => r[0]), ...axisStyle() },
        series: [
          { name: L('在办', 'Open'), type: 'bar', data: sorted.map((r) => r[1]), itemStyle: { color: '#2f6e9e' } },
          { name: L('超期', 'Overdue'), type: 'bar', data: sorted.map((r) => r[2]), itemStyle: { color: '#e4572e' } },
        ],
      });
    }
    mapChart.off('click');
    if (canDrill) {
      mapChart.on('click', (p: { name?: string; dataIndex?: number; componentSubType?: string }) => {
        let id: number | null = null;
        if (features.length) id = Number(p.name);
        else {
          const label = p.name;
          const found = [...ids].find((x) => nameOf(x) === label);
          id = found ?? null;
        }
        if (id === null || !Number.isFinite(id)) return;
        void drill({ id, name: nameOf(id), child: LEVELS[LEVELS.indexOf(scope.child) + 1] });
      });
    }
    // The last level (grids) lists the cases of the area clicked: the drill-down ends in cases.
    const showCases = (id: number) => void areaCases(areaCaseBox, id, nameOf(id), ctx.signal).catch((e) => replace(areaCaseBox, h('p', { class: 'status error', role: 'alert' }, errorText(e))));
    replace(areaCaseBox);
    if (!canDrill) {
      mapChart.on('click', (p: { name?: string }) => {
        const id = features.length ? Number(p.name) : [...ids].find((x) => nameOf(x) === p.name);
        if (id !== undefined && Number.isFinite(id)) showCases(id);
      });
      mapTable.prepend(
        h(
          'div',
          { class: 'drill-buttons', role: 'group', 'aria-label': L('查看区域案件', 'Show the cases of an area') },
          [...ids]
            .sort((a, b) => nameOf(a).localeCompare(nameOf(b), 'zh'))
            .map((id) => h('button', { type: 'button', class: 'chip', 'data-cases': String(id), onclick: () => showCases(id) }, nameOf(id))),
        ),
      );
    }
    // Keyboard path to the same drill-down: one button per area.
    if (canDrill) {
      mapTable.prepend(
        h(
          'div',
          { class: 'drill-buttons', role: 'group', 'aria-label': L('进入下一级', 'Go down a level') },
          [...ids]
            .sort((a, b) => nameOf(a).localeCompare(nameOf(b), 'zh'))
            .map((id) => h('button', { type: 'button', class: 'chip', 'data-area': String(id), onclick: () => void drill({ id, name: nameOf(id), child: LEVELS[LEVELS.indexOf(scope.child) + 1] }) }, nameOf(id))),
        ),
      );
    }
  };

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
    const { summary, todaySummary, states, loads, geo, trend: trendRaw, byDept, byArea: byStreet, areas, depts, categoryTrend, categories } = data;
    if (mine !== loading) return;
    let trend = trendRaw;
    const areaNames = new Map(areas.map((a) => [a.id, a.name]));
    areaNameOf = (id) => areaNames.get(id) ?? `#${id}`;
    // A figure of this scope opens its cases (a rate: those below its line, the misses marked).
    const figureOf = (figure: string, text: string) =>
      figureButton(figure, text, (btn) => void figures.open({ figure, scopeName: scope.name, area: scope.id, ...period() }, btn));
    const deptMap = byId(depts);

    // KPIs
    const open = states.filter((s) => !['closed', 'evaluated', 'voided'].includes(s.state)).reduce((n, s) => n + s.count, 0);
    const overdue = states.filter((s) => s.overdue && !['closed', 'evaluated', 'voided'].includes(s.state)).reduce((n, s) => n + s.count, 0);
    todayCount = todaySummary.counts.reported ?? 0;
    const channelSlot = h('div', { class: 'kpi kpi-channels', role: 'listitem', hidden: true });
    // 环比: the 30 days before; 同比: the same 30 days a year ago.
    const mom = L('环比', 'MoM');
    const yoy = L('同比', 'YoY');
    // A rate going up is good news (green), down bad (red); a count's change is shown plainly.
    const tone = (d: ReturnType<typeof change>, rate: boolean) => (d ? { text: d.text, dir: rate && d.dir !== 'flat' ? (d.dir === 'up' ? 'good' : 'bad') : 'flat' } : null);
    const both = (cur: (i: Indicators) => number | null | undefined, rate: boolean) => [
      cmp.prev ? tone(change(mom, cur(summary), cur(cmp.prev), rate), rate) : null,
      cmp.lastYear ? tone(change(yoy, cur(summary), cur(cmp.lastYear), rate), rate) : null,
    ];
    const areaParam: Record<string, number> = scope.id !== null ? { area: scope.id } : {};
    replace(
      kpis,
      kpi('today', L('今日受理', 'Appeals today'), caseListLink('intake', String(todayCount), areaParam)),
      kpi('open', L('在办案件', 'Open cases'), caseListLink('open', String(open), areaParam)),
      kpi('overdue', L('超期案件', 'Overdue'), caseListLink('overdue', String(overdue), areaParam)),
      kpi('reported', L('30天受理', 'Appeals (30 d)'), figureOf('reported', String(summary.counts.reported ?? 0)), undefined, both((i) => i.counts.reported ?? 0, false)),
      kpi('registered', L('30天立案', 'Registered (30 d)'), figureOf('registered', String(summary.registered)), undefined, both((i) => i.registered, false)),
      kpi('response', L('响应率', 'Response rate'), figureOf('response_rate', pct(summary.response_rate)), L('三率', 'three rates'), both((i) => i.response_rate, true)),
      kpi('resolution', L('解决率', 'Resolution rate'), figureOf('resolution_rate', pct(summary.resolution_rate)), L('三率', 'three rates'), both((i) => i.resolution_rate, true)),
      kpi('satisfaction', L('满意率', 'Satisfaction rate'), figureOf('satisfaction_rate', pct(summary.satisfaction_rate)), L('三率', 'three rates'), both((i) => i.satisfaction_rate, true)),
      kpi('ontime', L('按期结案率', 'On-time closure'), figureOf('on_time_closure_rate', pct(summary.on_time_closure_rate)), undefined, both((i) => i.on_time_closure_rate, true)),
      kpi('closure', L('结案率', 'Closure rate'), figureOf('closure_rate', pct(summary.closure_rate))),
      channelSlot,
    );
    void fillChannelMix(channelSlot, scope.id, ctx.signal);
    kpiValues.get('overdue')?.classList.toggle('alarm', overdue > 0);

    // Trend: every day of the period, zero where nothing happened.
    const byDay = new Map(trend.map((t) => [t.key, t]));
    const days: string[] = [];
    for (let i = -29; i <= 0; i++) days.push(localDay(i));
    trend = days.map((d) => byDay.get(d) ?? { key: d, indicators: { counts: {} } as Indicators });
    const series = [
      { key: 'reported', name: L('受理', 'Appeals'), color: '#5fb3f9' },
      { key: 'registered', name: L('立案', 'Registered'), color: '#f2c14e' },
      { key: 'closed', name: L('结案', 'Closed'), color: '#7bd389' },
    ];
    const openDay = (day: string, from?: HTMLElement) => void figures.open({ figure: 'reported', scopeName: scope.name, area: scope.id, from: day, to: day }, from);
    const trendRows = trend.map((t) => [figureButton('reported', t.key, (btn) => openDay(t.key, btn)), ...series.map((s) => t.indicators.counts[s.key] ?? 0)]);
    replace(trendTable, tableOf(L('近30天趋势', 'Last 30 days'), [L('日期', 'Day'), ...series.map((s) => s.name)], trendRows));
    const total = (k: string) => trend.reduce((n, t) => n + (t.indicators.counts[k] ?? 0), 0);
    renderAlerts(alertList, {
      loads,
      nameOf: (id) => areaNames.get(id) ?? `#${id}`,
      overdue,
      today: todayCount,
      dailyAverage: (total('reported') - todayCount) / 29,
      childLevel: scope.child,
    });
    trendEl.setAttribute('aria-label', `${L('近30天：', 'Last 30 days: ')}${series.map((s) => `${s.name} ${total(s.key)}`).join('，')}`);

    // Appeals by level-1 category, stacked per day; hidden quietly where the endpoint is missing.
    catPanel.hidden = categoryTrend === null;
    grid.classList.toggle('no-cat', categoryTrend === null);
    const cat = categorySeries(categoryTrend ?? [], categories, days);
    catNote.hidden = categoryTrend === null || cat.keys.length > 0;
    const catCaption = `${scope.name} · ${L('近30天各类诉求', 'appeals by category, last 30 days')}`;
    replace(
      catTable,
      tableOf(
        catCaption,
        [L('日期', 'Day'), ...cat.names, L('合计', 'Total')],
        days.map((d, i) => [d, ...cat.counts.map((c) => c[i]), cat.counts.reduce((n, c) => n + c[i], 0)]),
      ),
    );
    catEl.setAttribute(
      'aria-label',
      `${catCaption}${L('：', ': ')}${cat.names.map((n, i) => `${n} ${cat.totals[i]}`).join(L('，', ', ')) || '—'}`,
    );
    catEl.dataset.categories = String(cat.keys.length);

    // Rankings: a minimum volume keeps one fast case from topping the list.
    const rank = (rows: Keyed[], name: (k: string) => string) =>
      rows
        .filter((r) => (r.indicators.counts.closed ?? 0) >= 3 && r.indicators.on_time_closure_rate !== null)
        .map((r) => ({ key: Number(r.key), name: name(r.key), rate: r.indicators.on_time_closure_rate ?? 0, closed: r.indicators.counts.closed ?? 0, sat: r.indicators.satisfaction_rate }))
        // Ties (several units at 100%) by volume, then by name: a stable, explainable order.
        .sort((a, b) => b.rate - a.rate || b.closed - a.closed || a.name.localeCompare(b.name, 'zh'));
    const deptAll = rank(byDept, (k) => deptMap.get(Number(k))?.name ?? `#${k}`);
    const deptRank = deptAll.slice(0, 10);
    alertList.append(...redBlack(deptAll));
    const areaById = byId(areas);
    const streetName = (k: string) => {
      const a = areaById.get(Number(k));
      if (!a) return `#${k}`;
      const parent = a.parent_id !== null ? areaById.get(a.parent_id) : undefined;
      return parent && parent.level !== 'city' && scope.id === null ? `${parent.name}·${a.name}` : a.name;
    };
    const streetRank = rank(byStreet, streetName).slice(0, 10);
    // A bar or its row opens the unit's closures with the late ones marked.
    const openRank = (kind: 'dept' | 'area', r: (typeof deptRank)[number], from?: HTMLElement) =>
      void figures.open({ figure: 'on_time_closure_rate', scopeName: r.name, ...period(), ...(kind === 'dept' ? { dept: r.key, area: null } : { area: r.key }) }, from);
    const rankTable = (cap: string, rows: typeof deptRank, kind: 'dept' | 'area') =>
      tableOf(
        cap,
        [L('名称', 'Name'), L('按期结案率', 'On-time closure'), L('结案数', 'Closed'), L('满意率', 'Satisfaction')],
        rows.map((r) => [r.name, figureButton('on_time_closure_rate', pct(r.rate), (btn) => openRank(kind, r, btn)), r.closed, pct(r.sat)]),
      );
    const few = () => h('p', { class: 'muted' }, L('结案数不足 3 件的单位不参与排名。', 'Units with fewer than 3 closed cases are not ranked.'));
    replace(deptTable, deptRank.length ? null : few(), rankTable(L('部门排名', 'Departments'), deptRank, 'dept'));
    const rankLevel = scope.child === 'district' ? 'street' : scope.child;
    streetTitle.textContent = L(`${levelName(rankLevel)}排名（按期结案率）`, `${levelName(rankLevel)} ranking (on-time closure)`);
    replace(streetTable, streetRank.length ? null : few(), rankTable(streetTitle.textContent, streetRank, 'area'));
    deptEl.setAttribute('aria-label', `${L('部门排名：', 'Departments: ')}${deptRank.slice(0, 3).map((r) => `${r.name} ${pct(r.rate)}`).join('，') || '—'}`);
    streetEl.setAttribute('aria-label', `${streetTitle.textContent}: ${streetRank.slice(0, 3).map((r) => `${r.name} ${pct(r.rate)}`).join('，') || '—'}`);

    // States
    const openStates = ['received', 'registered', 'dispatched', 'handling', 'feedback', 'checked', 'parked'];
    const openState = (state: string, from?: HTMLElement) => void figures.open({ figure: 'state', state, scopeName: scope.name, area: scope.id, ...period() }, from);
    const stateRows = openStates.map((s) => [stateName(s), states.filter((x) => x.state === s).reduce((n, x) => n + x.count, 0), states.filter((x) => x.state === s && x.overdue).reduce((n, x) => n + x.count, 0)]);
    const stateCells = stateRows.map((r, i) => [figureButton('state', String(r[0]), (btn) => openState(openStates[i], btn)), r[1], r[2]]);
    replace(stateTable, tableOf(L('在办案件状态', 'Open cases by state'), [L('状态', 'State'), L('案件数', 'Cases'), L('其中超期', 'Overdue')], stateCells));
    stateEl.setAttribute('aria-label', `${L('在办案件状态：', 'Open cases by state: ')}${stateRows.map((r) => `${r[0]} ${r[1]}`).join('，')}`);

    const barRank = (rows: typeof deptRank) => ({
      animation: false,
      backgroundColor: 'transparent',
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => `${(v * 100).toFixed(1)}%` },
      grid: { left: 150, right: 84, top: 10, bottom: 24 },
      xAxis: { type: 'value', max: 1, ...axisStyle(), axisLabel: { color: MUTED, fontSize: fs(), formatter: (v: number) => `${Math.round(v * 100)}%` } },
      yAxis: { type: 'category', inverse: true, data: rows.map((r) => r.name), ...axisStyle() },
      series: [{ type: 'bar', data: rows.map((r) => r.rate), itemStyle: { color: '#5fb3f9' }, label: { show: true, position: 'right', color: TEXT, fontSize: fs(), formatter: (p: { value: number; dataIndex: number }) => `${(p.value * 100).toFixed(0)}% · ${rows[p.dataIndex]?.closed ?? ''}${L('件', '')}` } }],
    });

    await Promise.all([
      drawMap(scope, loads, geo, areaNames),
      draw(trendChart, {
        animation: false,
        backgroundColor: 'transparent',
        tooltip: { trigger: 'axis' },
        legend: { top: 0, textStyle: { color: TEXT, fontSize: fs() }, data: series.map((s) => s.name) },
        grid: { left: 40, right: 16, top: 30, bottom: 24 },
        xAxis: { type: 'category', data: days.map((d) => d.slice(5)), ...axisStyle() },
        yAxis: { type: 'value', minInterval: 1, ...axisStyle() },
        series: series.map((s) => ({ name: s.name, type: 'line', smooth: false, showSymbol: false, data: trend.map((t) => t.indicators.counts[s.key] ?? 0), lineStyle: { color: s.color, width: 2 }, itemStyle: { color: s.color } })),
      }),
      categoryTrend === null
        ? Promise.resolve()
        : draw(catChart, {
            animation: false,
            backgroundColor: 'transparent',
            tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
            legend: { top: 0, textStyle: { color: TEXT, fontSize: fs() }, data: cat.names },
            grid: { left: 40, right: 16, top: 56, bottom: 24 },
            xAxis: { type: 'category', data: days.map((d) => d.slice(5)), ...axisStyle() },
            yAxis: { type: 'value', minInterval: 1, ...axisStyle() },
            series: cat.names.map((name, i) => ({
              name,
              type: 'bar',
              stack: 'category',
              barMaxWidth: 18,
              data: cat.counts[i],
              itemStyle: { color: cat.keys[i] === OTHER ? CAT_COLORS[CAT_COLORS.length - 1] : CAT_COLORS[i % (CAT_COLORS.length - 1)] },
            })),
          }),
      draw(deptChart, barRank(deptRank)),
      draw(streetChart, barRank(streetRank)),
      draw(stateChart, {
        animation: false,
        backgroundColor: 'transparent',
        tooltip: { trigger: 'axis' },
        legend: { top: 0, textStyle: { color: TEXT, fontSize: fs() }, data: [L('案件数', 'Cases'), L('其中超期', 'Overdue')] },
        grid: { left: 40, right: 16, top: 30, bottom: 24 },
        xAxis: { type: 'category', data: stateRows.map((r) => r[0]), ...axisStyle() },
        yAxis: { type: 'value', minInterval: 1, ...axisStyle() },
        series: [
          { name: L('案件数', 'Cases'), type: 'bar', data: stateRows.map((r) => r[1]), itemStyle: { color: '#2f6e9e' } },
          { name: L('其中超期', 'Overdue'), type: 'bar', data: stateRows.map((r) => r[2]), itemStyle: { color: '#e4572e' } },
        ],
      }),
    ]);
    // Clicks on bars and days open their cases, like the figures.
    deptChart.off('click');
    deptChart.on('click', (p: { dataIndex?: number }) => {
      const r = deptRank[p.dataIndex ?? -1];
      if (r) openRank('dept', r);
    });
    streetChart.off('click');
    streetChart.on('click', (p: { dataIndex?: number }) => {
      const r = streetRank[p.dataIndex ?? -1];
      if (r) openRank('area', r);
    });
    // Anywhere over a day of the trend (the lines are thin): that day's appeals.
    const zr = trendChart.getZr();
    zr.off('click');
    zr.on('click', (e: { offsetX: number; offsetY: number }) => {
      const at = [e.offsetX, e.offsetY];
      if (!trendChart.containPixel({ gridIndex: 0 }, at)) return;
      const x = trendChart.convertFromPixel({ gridIndex: 0 }, at) as number[] | undefined;
      const day = x ? days[Math.round(x[0])] : undefined;
      if (day) openDay(day);
    });
    // A state's bar: its open cases now, the overdue ones marked.
    stateChart.off('click');
    stateChart.on('click', (p: { dataIndex?: number }) => {
      const state = openStates[p.dataIndex ?? -1];
      if (state) openState(state);
    });
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
