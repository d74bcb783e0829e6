// The dashboard's category trend shaped for its chart (the period's top level-1 categories and
// 其他), and the names of the area levels it drills through.

import type { Category } from '../api';
import { L } from '../i18n';
import type { CategoryDay } from './dashboard-data';

/** Colours of the category trend's series; the last one is for 其他 (the rest). */
export const CAT_COLORS = ['#5fb3f9', '#f2c14e', '#7bd389', '#e4572e', '#c39bd3', '#4fd1c5', '#8a9bb0'];
export const OTHER = '*other';

/**
 * The category trend, shaped for the chart: the top categories of the period and 其他, with the
 * level-1 codes behind each series as GET /api/v1/stats/figure-cases takes them (`none` for the
 * uncategorised; 其他 names the rest).
 */
export function categorySeries(rows: CategoryDay[], categories: Category[], days: string[]): { keys: string[]; names: string[]; codes: string[][]; counts: number[][]; totals: number[] } {
  const level1 = new Map(categories.filter((c) => c.level === 1).map((c) => [c.code, c.name]));
  const nameOf = (code: string) => (code === OTHER ? L('其他', 'Other') : code === '' ? L('未分类', 'Uncategorised') : level1.get(code) ?? code);
  const total = new Map<string, number>();
  for (const r of rows) total.set(r.category_code, (total.get(r.category_code) ?? 0) + r.reported);
  const ranked = [...total.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
  // Six categories and 其他; seven are all shown by name.
  const keys = ranked.length <= 7 ? ranked : [...ranked.slice(0, 6), OTHER];
  const shown = new Set(keys);
  const dayIndex = new Map(days.map((d, i) => [d, i]));
  const counts = keys.map(() => days.map(() => 0));
  for (const r of rows) {
    const i = dayIndex.get(r.day);
    if (i === undefined) continue;
    const k = keys.indexOf(shown.has(r.category_code) ? r.category_code : OTHER);
    if (k >= 0) counts[k][i] += r.reported;
  }
  const wire = (code: string) => (code === '' ? 'none' : code);
  const codes = keys.map((k) => (k === OTHER ? ranked.filter((c) => !shown.has(c)).map(wire) : [wire(k)]));
  return { keys, names: keys.map(nameOf), codes, counts, totals: counts.map((c) => c.reduce((n, x) => n + x, 0)) };
}

export function levelName(level: string): string {
  switch (level) {
    case 'district':
      return L('区', 'district');
    case 'street':
      return L('街道', 'street');
    case 'community':
      return L('社区', 'community');
    case 'grid':
      return L('网格', 'grid');
    default:
      return level;
  }
}
