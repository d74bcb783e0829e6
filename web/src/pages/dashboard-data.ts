// The dashboard's data for one scope: every request goes out at once and reads only aggregates.
// Kept apart from the charts so the router can start these requests while the charts library
// is still loading.

import { get, optional, qs, type Area, type Category, type Dept, type Indicators, type Keyed } from '../api';
import type { GeoJsonCollection } from '../charts';
import { loadAreas, loadCategories, loadDepts } from '../ref';

export const LEVELS = ['district', 'street', 'community', 'grid'] as const;
export type Level = (typeof LEVELS)[number];

export interface AreaLoad {
  area_id: number;
  open: number;
  overdue: number;
}

export interface StateCount {
  state: string;
  overdue: boolean;
  count: number;
}

/** Appeals reported on one day in one level-1 category ("" = uncategorised). */
export interface CategoryDay {
  day: string;
  category_code: string;
  reported: number;
}

export interface DashboardData {
  summary: Indicators;
  todaySummary: Indicators;
  states: StateCount[];
  loads: AreaLoad[];
  geo: GeoJsonCollection | null;
  trend: Keyed[];
  byDept: Keyed[];
  byArea: Keyed[];
  areas: Area[];
  depts: Dept[];
  /** null: the category trend endpoint is not deployed (the panel is hidden). */
  categoryTrend: CategoryDay[] | null;
  categories: Category[];
}

/** The city's local day (UTC+8), YYYY-MM-DD. */
export function localDay(offsetDays = 0): string {
  return new Date(Date.now() + 8 * 3600_000 + offsetDays * 86400_000).toISOString().slice(0, 10);
}

/** Fetches the view of one area (null: the caller's whole scope) showing its `child` level. */
export async function fetchDashboard(areaId: number | null, child: Level, signal: AbortSignal): Promise<DashboardData> {
  const area = areaId ?? undefined;
  const from = localDay(-29);
  const today = localDay();
  const o = { signal };
  const [summary, todaySummary, states, loads, geo, trend, byDept, byArea, areas, depts, categoryTrend, categories] = await Promise.all([
    get<Indicators>(`/api/v1/stats/summary${qs({ area_id: area, from, to: today })}`, o),
    get<Indicators>(`/api/v1/stats/summary${qs({ area_id: area, from: today, to: today })}`, o),
    get<StateCount[]>(`/api/v1/stats/states${qs({ area_id: area })}`, o),
    get<AreaLoad[]>(`/api/v1/stats/map${qs({ level: child, area_id: area })}`, o),
    optional<GeoJsonCollection>('GET', `/api/v1/areas/geojson${qs({ level: child, parent_id: area })}`, o).catch(() => null),
    get<Keyed[]>(`/api/v1/stats/trend${qs({ area_id: area, from, to: today })}`, o),
    get<Keyed[]>(`/api/v1/stats/by-department${qs({ from, to: today })}`, o),
    get<Keyed[]>(`/api/v1/stats/by-area${qs({ level: child === 'district' ? 'street' : child, area_id: area, from, to: today })}`, o),
    loadAreas().catch(() => [] as Area[]),
    loadDepts().catch(() => [] as Dept[]),
    optional<CategoryDay[]>('GET', `/api/v1/stats/category-trend${qs({ area_id: area, from, to: today })}`, o),
    loadCategories().catch(() => [] as Category[]),
  ]);
  return { summary, todaySummary, states, loads, geo, trend, byDept, byArea, areas, depts, categoryTrend, categories };
}
