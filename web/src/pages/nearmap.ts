// The public map of recent reports (#/map, no login): the city's street boundaries with their
// names, roads and places from the gazetteer as the base layer, and the reports of the last 30
// days on top — each at its area's centre (a unit grid's at the finest), title masked, state by
// colour. Clicking a report opens its public page. "Use my location" marks the resident, names the
// nearest address and lists the open reports around them to join. The list below the map is its
// text alternative and holds everything the map shows.

import { get, qs } from '../api';
import type { ECharts, EChartsCoreOption, GeoJsonCollection } from '../charts';
import { fmtTime, h, replace } from '../dom';
import { escapeHtml } from '../escape';
import { L, lang, stateName } from '../i18n';
import type { Ctx } from '../page';
import { loadGeo } from '../ref';
import { describePlace, nearbyArea, nearbyPanel, useLocationButton, type MyPlace } from './nearby';

interface Report {
  id: number;
  number: string;
  title: string;
  state: string;
  status: string;
  created_at: string;
  area_name: string | null;
  lat: number | null;
  lon: number | null;
  category_name: string | null;
}

interface MapPoint {
  name: string;
  kind: string;
  lat: number;
  lon: number;
}

interface BaseMap {
  roads: MapPoint[];
  places: MapPoint[];
  truncated: boolean;
}

const MAP_NAME = 'urbis-public-reports';

/** Text size of the map's labels: larger in large-text mode. */
function labelSize(): number {
  return document.documentElement.classList.contains('large-text') ? 16 : 11;
}

/** Boundaries with geometry, the finest level the city has of street and district. */
async function boundaries(): Promise<GeoJsonCollection | null> {
  for (const level of ['street', 'district']) {
    const g = await loadGeo(level).catch(() => null);
    if (g && g.features.some((f) => f.geometry)) return g;
  }
  return null;
}

function caseLink(r: Report): string {
  return `#/case?n=${encodeURIComponent(r.number)}`;
}

function mapOption(base: BaseMap, reports: Report[], me: MyPlace | null): EChartsCoreOption {
  const fs = labelSize();
  const placed = reports.filter((r) => r.lat !== null && r.lon !== null);
  return {
    animation: false,
    tooltip: {
      show: true,
      formatter: (p: { seriesName: string; name: string; data?: { title?: string; number?: string; state?: string } }) =>
        p.seriesName === 'reports' && p.data?.number
          ? `${escapeHtml(p.data.number)}<br>${escapeHtml(p.data.title ?? '')}<br>${escapeHtml(stateName(p.data.state ?? ''))}`
          : escapeHtml(p.name),
    },
    geo: {
      map: MAP_NAME,
      roam: true,
      top: 8,
      bottom: 8,
      left: 8,
      right: 8,
      // Located: the map centres on the resident, closer in.
      ...(me ? { center: [me.lon, me.lat], zoom: 2 } : {}),
      selectedMode: false,
      label: { show: true, fontSize: fs + 1, color: '#1d3557', fontWeight: 'bold' },
      itemStyle: { areaColor: '#eef3f8', borderColor: '#5a7fa6' },
      emphasis: { itemStyle: { areaColor: '#dde9f5' }, label: { color: '#000' } },
    },
    series: [
      {
        name: 'roads',
        type: 'scatter',
        coordinateSystem: 'geo',
        symbol: 'rect',
        symbolSize: [10, 3],
        itemStyle: { color: '#8a8f98' },
        label: { show: true, formatter: '{b}', position: 'right', fontSize: fs, color: '#4a4f57' },
        labelLayout: { hideOverlap: true },
        silent: true,
        data: base.roads.map((p) => ({ name: p.name, value: [p.lon, p.lat] })),
      },
      {
        name: 'places',
        type: 'scatter',
        coordinateSystem: 'geo',
        symbol: 'diamond',
        symbolSize: 7,
        itemStyle: { color: '#2a7f62' },
        label: { show: true, formatter: '{b}', position: 'bottom', fontSize: fs, color: '#1f5e48' },
        labelLayout: { hideOverlap: true },
        data: base.places.map((p) => ({ name: p.name, value: [p.lon, p.lat] })),
      },
      {
        name: 'reports',
        type: 'scatter',
        coordinateSystem: 'geo',
        symbolSize: 13,
        cursor: 'pointer',
        z: 5,
        label: { show: false },
        data: placed.map((r) => ({
          name: r.title,
          number: r.number,
          title: r.title,
          state: r.state,
          value: [r.lon, r.lat],
          itemStyle: { color: r.status === 'open' ? '#c0392b' : '#1e7e34', borderColor: '#fff', borderWidth: 1 },
        })),
      },
      {
        name: 'me',
        type: 'scatter',
        coordinateSystem: 'geo',
        symbol: 'pin',
        symbolSize: 26,
        z: 6,
        itemStyle: { color: '#1565c0' },
        label: { show: Boolean(me), formatter: L('我的位置', 'You are here'), position: 'top', fontSize: fs, color: '#0d47a1', fontWeight: 'bold' },
        data: me ? [{ name: L('我的位置', 'You are here'), value: [me.lon, me.lat] }] : [],
      },
    ],
  };
}

function reportList(reports: Report[]): HTMLElement {
  if (!reports.length) return h('p', { class: 'muted' }, L('最近 30 天没有公开的问题。', 'No public reports in the last 30 days.'));
  return h(
    'ul',
    { class: 'plain', id: 'map-list' },
    reports.map((r) =>
      h(
        'li',
        { class: 'card', 'data-number': r.number },
        h('h3', null, h('a', { href: caseLink(r) }, r.title || r.number)),
        h('p', { class: 'muted' }, [r.number, r.area_name ?? '', r.category_name ?? '', stateName(r.state), fmtTime(r.created_at, lang())].filter(Boolean).join(' · ')),
        h('p', null, h('a', { href: caseLink(r) }, r.status === 'open' ? L('查看进展 / 我也遇到了', 'See progress / me too') : L('查看办理结果', 'See the outcome'))),
      ),
    ),
  );
}

export async function nearMapPage(ctx: Ctx): Promise<void> {
  const [geo, base, reports] = await Promise.all([
    boundaries(),
    get<BaseMap>('/api/v1/public/basemap', { signal: ctx.signal, anonymous: true }).catch(() => ({ roads: [], places: [], truncated: false }) as BaseMap),
    get<Report[]>(`/api/v1/public/reports${qs({ limit: 200 })}`, { signal: ctx.signal, anonymous: true }),
  ]);
  const open = reports.filter((r) => r.status === 'open').length;
  const where = h('p', { class: 'located', 'aria-live': 'polite', id: 'map-where' });
  const nearby = nearbyPanel(ctx.signal);
  let mine: MyPlace | null = null;
  let chart: ECharts | null = null;
  let redraw: () => void = () => undefined;
  const locate = useLocationButton(ctx.signal, async (place) => {
    mine = place;
    replace(where, L('您在：', 'You are: '), describePlace(place));
    redraw();
    const area = nearbyArea(place);
    if (area) await nearby.show(String(area.id));
  });
  const mapEl = h('div', { class: 'public-map', id: 'public-map' });
  const summary = h(
    'p',
    { id: 'map-summary' },
    L(
      `地图显示最近 30 天的 ${reports.length} 个问题（${open} 个办理中，红色；其余已办结，绿色），位置取所在网格的中心。点击问题查看进展。`,
      `The map shows ${reports.length} reports of the last 30 days (${open} open in red, the rest closed in green), each at the centre of its grid. Click one to see its progress.`,
    ),
  );
  ctx.main.append(
    h('h1', null, L('附近的问题', 'Reports near you')),
    h('p', { class: 'lead' }, L('看看身边已有哪些问题在办理；同一问题已有人反映时，加入即可，无需重复提交。', 'See what is already reported around you; if your problem is there, join it instead of filing it again.')),
    h('section', { class: 'card', 'aria-labelledby': 'map-h' }, h('h2', { id: 'map-h' }, L('问题地图', 'Map of reports')), locate, where, summary, geo ? mapEl : h('p', { class: 'muted' }, L('本市尚未导入边界，仅显示列表。', 'The city has no boundaries yet; the list follows.')), nearby.el),
    h('section', { class: 'card', 'aria-labelledby': 'list-h' }, h('h2', { id: 'list-h' }, L('问题列表（地图的文字版）', 'List of reports (the map as text)')), reportList(reports)),
  );
  if (!geo) return;
  const { disposeChart, draw, makeChart, registerGeo } = await import('../charts');
  if (ctx.signal.aborted) return;
  registerGeo(MAP_NAME, geo);
  chart = makeChart(mapEl, L(`问题地图：${reports.length} 个问题，详见下方列表`, `Map of ${reports.length} reports; the list below has them all`));
  mapEl.setAttribute('aria-describedby', 'map-summary');
  const c = chart;
  ctx.dispose(() => disposeChart(c));
  c.on('click', (p) => {
    const number = (p.data as { number?: unknown } | null)?.number;
    if (p.seriesName === 'reports' && typeof number === 'string') location.hash = `#/case?n=${encodeURIComponent(number)}`;
  });
  redraw = () => c.setOption(mapOption(base, reports, mine), { notMerge: true });
  // Large-text mode is switched without a new page: the labels follow it.
  const watch = new MutationObserver(() => redraw());
  watch.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
  ctx.dispose(() => watch.disconnect());
  await draw(c, mapOption(base, reports, mine));
  mapEl.dataset.reports = String(reports.filter((r) => r.lat !== null).length);
}
