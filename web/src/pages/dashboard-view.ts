// What the dashboard's panels share: the scope being shown, the dark theme's colours, the chart
// text size (larger on the wall screen and in large-text mode), the axes' style, and the table
// each chart keeps as its accessible alternative.

import { h } from '../dom';
import { L } from '../i18n';
import type { Level } from './dashboard-data';

export interface Scope {
  id: number | null;
  name: string;
  /** The level shown on the map inside this scope. */
  child: Level;
}

export const TEXT = '#e6edf3';
export const MUTED = '#a9b8c9';
export const AXIS = '#3b5068';

/** Chart text size: larger on the wall screen and in large-text mode (larger still with both). */
export function fs(): number {
  const large = document.documentElement.classList.contains('large-text');
  if (document.body.classList.contains('wall')) return large ? 18 : 16;
  return large ? 16 : 12;
}

export function axisStyle() {
  return {
    axisLine: { lineStyle: { color: AXIS } },
    axisLabel: { color: MUTED, fontSize: fs() },
    splitLine: { lineStyle: { color: '#1f3144' } },
  };
}

/** A chart's numbers as a table, folded under "以表格查看". */
export function tableOf(caption: string, head: string[], rows: (string | number | HTMLElement)[][]): HTMLElement {
  return h(
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
}
