// The dashboard's map: open and overdue cases per area of the level shown (or where the 30 days'
// cases were reported, as a heat map), drilling down district → street → community → grid by a
// click or the keyboard's buttons, and ending at the grid level in the cases of the area clicked.
// Without stored boundaries the same numbers are bars, still clickable.

import { errorText } from '../errors';
import { h, replace } from '../dom';
import { escapeHtml } from '../escape';
import { L } from '../i18n';
import { draw, registerGeo, type ECharts, type GeoJsonCollection } from '../charts';
import { LEVELS, type AreaLoad } from './dashboard-data';
import { fetchDensity, heatOption, heatSummary } from './dashboard-heat';
import { areaCases } from './dashboard-extra';
import { levelName } from './dashboard-category';
import { TEXT, axisStyle, fs, tableOf, type Scope } from './dashboard-view';

/** The map panel's parts. */
export interface MapParts {
  chart: ECharts;
  el: HTMLElement;
  table: HTMLElement;
  title: HTMLElement;
  /** Where the cases of a grid clicked are listed. */
  caseBox: HTMLElement;
}

export interface MapOptions {
  /** Draw where cases were reported instead of the open cases per area. */
  heat: boolean;
  signal: AbortSignal;
  /** Go down to an area. */
  drill: (scope: Scope) => void;
}

/** Draws the map of a scope and wires its clicks. */
export async function drawMap(parts: MapParts, scope: Scope, loads: AreaLoad[], geo: GeoJsonCollection | null, names: Map<number, string>, opts: MapOptions): Promise<void> {
  const byArea = new Map(loads.map((l) => [l.area_id, l]));
  parts.title.textContent = `${scope.name} · ${L(`各${levelName(scope.child)}在办与超期`, `open and overdue by ${levelName(scope.child)}`)}`;
  const features = geo?.features.filter((f) => f.geometry) ?? [];
  const rowsForTable: (string | number)[][] = [];
  const nameOf = (id: number) => names.get(id) ?? geo?.features.find((f) => f.properties.id === id)?.properties.name ?? `#${id}`;
  const ids = new Set<number>([...loads.map((l) => l.area_id), ...(geo?.features.map((f) => f.properties.id) ?? [])]);
  for (const id of ids) {
    const l = byArea.get(id);
    rowsForTable.push([nameOf(id), l?.open ?? 0, l?.overdue ?? 0]);
  }
  rowsForTable.sort((a, b) => Number(b[1]) - Number(a[1]));
  replace(parts.table, tableOf(parts.title.textContent ?? '', [L('区域', 'Area'), L('在办', 'Open'), L('超期', 'Overdue')], rowsForTable));
  const canDrill = LEVELS.indexOf(scope.child) < LEVELS.length - 1;
  const top = rowsForTable.slice(0, 3).map((r) => `${r[0]} ${r[1]}`).join('，');
  parts.el.setAttribute('aria-label', `${parts.title.textContent}。${L('在办最多：', 'Most open: ')}${top || '—'}`);
  const max = Math.max(1, ...loads.map((l) => l.open));
  const mapName = `urbis-dash-${scope.id ?? 'root'}-${scope.child}`;
  if (features.length) {
    registerGeo(mapName, { type: 'FeatureCollection', features: features.map((f) => ({ ...f, properties: { ...f.properties, name: String(f.properties.id) } })) });
  }
  delete parts.el.dataset.cells;
  if (features.length && opts.heat) {
    const cells = await fetchDensity(scope.id, opts.signal);
    parts.el.setAttribute('aria-label', `${parts.title.textContent}。${heatSummary(cells)}`);
    parts.el.dataset.cells = String(cells.length);
    await draw(parts.chart, heatOption(mapName, cells, fs(), TEXT));
  } else if (features.length) {
    await draw(parts.chart, {
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
    await draw(parts.chart, {
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
  parts.chart.off('click');
  if (canDrill) {
    parts.chart.on('click', (p: { name?: string; dataIndex?: number; componentSubType?: string }) => {
      let id: number | null = null;
      if (features.length) id = Number(p.name);
      else {
        const label = p.name;
        const found = [...ids].find((x) => nameOf(x) === label);
        id = found ?? null;
      }
      if (id === null || !Number.isFinite(id)) return;
      opts.drill({ id, name: nameOf(id), child: LEVELS[LEVELS.indexOf(scope.child) + 1] });
    });
  }
  // The last level (grids) lists the cases of the area clicked: the drill-down ends in cases.
  const showCases = (id: number) => void areaCases(parts.caseBox, id, nameOf(id), opts.signal).catch((e) => replace(parts.caseBox, h('p', { class: 'status error', role: 'alert' }, errorText(e))));
  replace(parts.caseBox);
  if (!canDrill) {
    parts.chart.on('click', (p: { name?: string }) => {
      const id = features.length ? Number(p.name) : [...ids].find((x) => nameOf(x) === p.name);
      if (id !== undefined && Number.isFinite(id)) showCases(id);
    });
    parts.table.prepend(
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
    parts.table.prepend(
      h(
        'div',
        { class: 'drill-buttons', role: 'group', 'aria-label': L('进入下一级', 'Go down a level') },
        [...ids]
          .sort((a, b) => nameOf(a).localeCompare(nameOf(b), 'zh'))
          .map((id) => h('button', { type: 'button', class: 'chip', 'data-area': String(id), onclick: () => opts.drill({ id, name: nameOf(id), child: LEVELS[LEVELS.indexOf(scope.child) + 1] }) }, nameOf(id))),
      ),
    );
  }
}
