// The dashboard's charts below the key figures: the 30 days' trend (a day opens its appeals),
// the overdue and surge alerts with 红黑榜, appeals by level-1 category, the department and
// street rankings by on-time closure (a unit opens its closures, the late ones marked) and the
// open cases by state (a state opens its cases now); a category on a day opens its appeals. Each chart keeps a table as its
// accessible alternative, and its clicks open the same lists as the table's buttons.

import type { Indicators, Keyed } from '../api';
import { h, pct, replace } from '../dom';
import { L, stateName } from '../i18n';
import { byId } from '../ref';
import { draw, type ECharts } from '../charts';
import { localDay, type DashboardData } from './dashboard-data';
import { redBlack, renderAlerts } from './dashboard-extra';
import { figureButton, type FigureAsk } from './dashboard-figures';
import { CAT_COLORS, OTHER, categorySeries, levelName } from './dashboard-category';
import { MUTED, TEXT, axisStyle, fs, tableOf, type Scope } from './dashboard-view';

/** The panels' elements and charts. */
export interface PanelParts {
  grid: HTMLElement;
  alertList: HTMLElement;
  trendEl: HTMLElement;
  trendTable: HTMLElement;
  trendChart: ECharts;
  stateEl: HTMLElement;
  stateTable: HTMLElement;
  stateChart: ECharts;
  catPanel: HTMLElement;
  catEl: HTMLElement;
  catNote: HTMLElement;
  catTable: HTMLElement;
  catChart: ECharts;
  deptEl: HTMLElement;
  deptTable: HTMLElement;
  deptChart: ECharts;
  streetTitle: HTMLElement;
  streetEl: HTMLElement;
  streetTable: HTMLElement;
  streetChart: ECharts;
}

export interface PanelArgs {
  scope: Scope;
  data: DashboardData;
  todayCount: number;
  period: { from: string; to: string };
  /** Opens the cases behind a figure. */
  openFigure: (ask: FigureAsk, from?: HTMLElement) => void;
}

/** Draws every panel of a scope's view and wires their clicks. */
export async function renderPanels(p: PanelParts, args: PanelArgs): Promise<void> {
  const { scope, todayCount } = args;
  const { states, loads, byDept, byArea: byStreet, areas, depts, categoryTrend, categories } = args.data;
  const areaNames = new Map(areas.map((x) => [x.id, x.name]));
  const deptMap = byId(depts);
  let trend = args.data.trend;
  const overdue = states.filter((s) => s.overdue && !['closed', 'evaluated', 'voided'].includes(s.state)).reduce((n, s) => n + s.count, 0);

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
  const openDay = (day: string, from?: HTMLElement) => args.openFigure({ figure: 'reported', scopeName: scope.name, area: scope.id, from: day, to: day }, from);
  const trendRows = trend.map((t) => [figureButton('reported', t.key, (btn) => openDay(t.key, btn)), ...series.map((s) => t.indicators.counts[s.key] ?? 0)]);
  replace(p.trendTable, tableOf(L('近30天趋势', 'Last 30 days'), [L('日期', 'Day'), ...series.map((s) => s.name)], trendRows));
  const total = (k: string) => trend.reduce((n, t) => n + (t.indicators.counts[k] ?? 0), 0);
  renderAlerts(p.alertList, {
    loads,
    nameOf: (id) => areaNames.get(id) ?? `#${id}`,
    overdue,
    today: todayCount,
    dailyAverage: (total('reported') - todayCount) / 29,
    childLevel: scope.child,
  });
  p.trendEl.setAttribute('aria-label', `${L('近30天：', 'Last 30 days: ')}${series.map((s) => `${s.name} ${total(s.key)}`).join('，')}`);

  // Appeals by level-1 category, stacked per day; hidden quietly where the endpoint is missing.
  p.catPanel.hidden = categoryTrend === null;
  p.grid.classList.toggle('no-cat', categoryTrend === null);
  const cat = categorySeries(categoryTrend ?? [], categories, days);
  p.catNote.hidden = categoryTrend === null || cat.keys.length > 0;
  const catCaption = `${scope.name} · ${L('近30天各类诉求', 'appeals by category, last 30 days')}`;
  // A series on a day (a bar's segment or the table's number) opens that day's appeals under it.
  const openCategory = (k: number, day: string, from?: HTMLElement) =>
    args.openFigure({ figure: 'reported', scopeName: `${scope.name} · ${cat.names[k]}`, area: scope.id, from: day, to: day, categories: cat.codes[k] }, from);
  const catCell = (k: number, i: number) => {
    const n = cat.counts[k][i];
    if (!n) return n;
    const btn = figureButton('reported', String(n), (b) => openCategory(k, days[i], b));
    btn.dataset.category = cat.keys[k];
    btn.dataset.day = days[i];
    btn.setAttribute('aria-label', `${days[i]} ${cat.names[k]} ${n}`);
    return btn;
  };
  replace(
    p.catTable,
    tableOf(
      catCaption,
      [L('日期', 'Day'), ...cat.names, L('合计', 'Total')],
      days.map((d, i) => [d, ...cat.counts.map((_, k) => catCell(k, i)), cat.counts.reduce((n, c) => n + c[i], 0)]),
    ),
  );
  p.catEl.setAttribute(
    'aria-label',
    `${catCaption}${L('：', ': ')}${cat.names.map((n, i) => `${n} ${cat.totals[i]}`).join(L('，', ', ')) || '—'}`,
  );
  p.catEl.dataset.categories = String(cat.keys.length);

  // Rankings: a minimum volume keeps one fast case from topping the list.
  const rank = (rows: Keyed[], name: (k: string) => string) =>
    rows
      .filter((r) => (r.indicators.counts.closed ?? 0) >= 3 && r.indicators.on_time_closure_rate !== null)
      .map((r) => ({ key: Number(r.key), name: name(r.key), rate: r.indicators.on_time_closure_rate ?? 0, closed: r.indicators.counts.closed ?? 0, sat: r.indicators.satisfaction_rate }))
      // Ties (several units at 100%) by volume, then by name: a stable, explainable order.
      .sort((a, b) => b.rate - a.rate || b.closed - a.closed || a.name.localeCompare(b.name, 'zh'));
  const deptAll = rank(byDept, (k) => deptMap.get(Number(k))?.name ?? `#${k}`);
  const deptRank = deptAll.slice(0, 10);
  p.alertList.append(...redBlack(deptAll));
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
    args.openFigure({ figure: 'on_time_closure_rate', scopeName: r.name, ...args.period, ...(kind === 'dept' ? { dept: r.key, area: null } : { area: r.key }) }, from);
  const rankTable = (cap: string, rows: typeof deptRank, kind: 'dept' | 'area') =>
    tableOf(
      cap,
      [L('名称', 'Name'), L('按期结案率', 'On-time closure'), L('结案数', 'Closed'), L('满意率', 'Satisfaction')],
      rows.map((r) => [r.name, figureButton('on_time_closure_rate', pct(r.rate), (btn) => openRank(kind, r, btn)), r.closed, pct(r.sat)]),
    );
  const few = () => h('p', { class: 'muted' }, L('结案数不足 3 件的单位不参与排名。', 'Units with fewer than 3 closed cases are not ranked.'));
  replace(p.deptTable, deptRank.length ? null : few(), rankTable(L('部门排名', 'Departments'), deptRank, 'dept'));
  const rankLevel = scope.child === 'district' ? 'street' : scope.child;
  p.streetTitle.textContent = L(`${levelName(rankLevel)}排名（按期结案率）`, `${levelName(rankLevel)} ranking (on-time closure)`);
  replace(p.streetTable, streetRank.length ? null : few(), rankTable(p.streetTitle.textContent, streetRank, 'area'));
  p.deptEl.setAttribute('aria-label', `${L('部门排名：', 'Departments: ')}${deptRank.slice(0, 3).map((r) => `${r.name} ${pct(r.rate)}`).join('，') || '—'}`);
  p.streetEl.setAttribute('aria-label', `${p.streetTitle.textContent}: ${streetRank.slice(0, 3).map((r) => `${r.name} ${pct(r.rate)}`).join('，') || '—'}`);

  // States
  const openStates = ['received', 'registered', 'dispatched', 'handling', 'feedback', 'checked', 'parked'];
  const openState = (state: string, from?: HTMLElement) => args.openFigure({ figure: 'state', state, scopeName: scope.name, area: scope.id, ...args.period }, from);
  const stateRows = openStates.map((s) => [stateName(s), states.filter((x) => x.state === s).reduce((n, x) => n + x.count, 0), states.filter((x) => x.state === s && x.overdue).reduce((n, x) => n + x.count, 0)]);
  const stateCells = stateRows.map((r, i) => [figureButton('state', String(r[0]), (btn) => openState(openStates[i], btn)), r[1], r[2]]);
  replace(p.stateTable, tableOf(L('在办案件状态', 'Open cases by state'), [L('状态', 'State'), L('案件数', 'Cases'), L('其中超期', 'Overdue')], stateCells));
  p.stateEl.setAttribute('aria-label', `${L('在办案件状态：', 'Open cases by state: ')}${stateRows.map((r) => `${r[0]} ${r[1]}`).join('，')}`);

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
    draw(p.trendChart, {
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
      : draw(p.catChart, {
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
    draw(p.deptChart, barRank(deptRank)),
    draw(p.streetChart, barRank(streetRank)),
    draw(p.stateChart, {
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
  p.deptChart.off('click');
  p.deptChart.on('click', (p: { dataIndex?: number }) => {
    const r = deptRank[p.dataIndex ?? -1];
    if (r) openRank('dept', r);
  });
  p.streetChart.off('click');
  p.streetChart.on('click', (p: { dataIndex?: number }) => {
    const r = streetRank[p.dataIndex ?? -1];
    if (r) openRank('area', r);
  });
  // Anywhere over a day of the trend (the lines are thin): that day's appeals.
  const zr = p.trendChart.getZr();
  zr.off('click');
  zr.on('click', (e: { offsetX: number; offsetY: number }) => {
    const at = [e.offsetX, e.offsetY];
    if (!p.trendChart.containPixel({ gridIndex: 0 }, at)) return;
    const x = p.trendChart.convertFromPixel({ gridIndex: 0 }, at) as number[] | undefined;
    const day = x ? days[Math.round(x[0])] : undefined;
    if (day) openDay(day);
  });
  p.catChart.off('click');
  p.catChart.on('click', (e: { seriesIndex?: number; dataIndex?: number }) => {
    const k = e.seriesIndex ?? -1;
    const day = days[e.dataIndex ?? -1];
    if (k >= 0 && k < cat.keys.length && day && cat.counts[k][e.dataIndex ?? 0] > 0) openCategory(k, day);
  });
  // A state's bar: its open cases now, the overdue ones marked.
  p.stateChart.off('click');
  p.stateChart.on('click', (p: { dataIndex?: number }) => {
    const state = openStates[p.dataIndex ?? -1];
    if (state) openState(state);
  });
}
