// Reference data (taxonomy, departments, areas, public area boundaries), fetched once per
// session and shared by pages.

import { get, qs, type Area, type Category, type Dept } from './api';
import type { GeoJsonCollection } from './charts';

let categories: Promise<Category[]> | null = null;
let depts: Promise<Dept[]> | null = null;
let areas: Promise<Area[]> | null = null;
const geo = new Map<string, Promise<GeoJsonCollection>>();

export function loadCategories(): Promise<Category[]> {
  if (!categories) {
    categories = get<Category[]>('/api/v1/categories');
    categories.catch(() => (categories = null));
  }
  return categories;
}

export function loadDepts(): Promise<Dept[]> {
  if (!depts) {
    depts = get<Dept[]>('/api/v1/departments');
    depts.catch(() => (depts = null));
  }
  return depts;
}

export function loadAreas(): Promise<Area[]> {
  if (!areas) {
    areas = get<Area[]>('/api/v1/areas');
    areas.catch(() => (areas = null));
  }
  return areas;
}

/** The boundaries of one area level (public: no login needed). */
export function loadGeo(level: string): Promise<GeoJsonCollection> {
  let p = geo.get(level);
  if (!p) {
    p = get<GeoJsonCollection>(`/api/v1/areas/geojson${qs({ level })}`);
    geo.set(level, p);
    p.catch(() => geo.delete(level));
  }
  return p;
}

/**
 * The areas of some levels as the public boundaries name them (id, code, name, level,
 * parent_id), in tree order: for visitors who may not read `/api/v1/areas`. Levels that
 * cannot be read are left out.
 */
export async function areasFromGeo(levels: string[]): Promise<Area[]> {
  const sets = await Promise.all(levels.map((l) => loadGeo(l).catch(() => null)));
  const rows: Area[] = [];
  for (const g of sets) {
    for (const f of g?.features ?? []) {
      const p = f.properties;
      if (typeof p?.id !== 'number' || typeof p.name !== 'string') continue;
      rows.push({ id: p.id, code: String(p.code ?? ''), name: p.name, level: String(p.level ?? ''), parent_id: p.parent_id ?? null, center_lat: null, center_lon: null });
    }
  }
  // Depth first, each parent followed by its children (ordered by code).
  const ids = new Set(rows.map((r) => r.id));
  const children = new Map<number | null, Area[]>();
  for (const r of rows) {
    const parent = r.parent_id !== null && ids.has(r.parent_id) ? r.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const out: Area[] = [];
  const walk = (parent: number | null, depth: number) => {
    if (depth > 6) return;
    for (const r of (children.get(parent) ?? []).sort((a, b) => a.code.localeCompare(b.code) || a.id - b.id)) {
      out.push(r);
      walk(r.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

export function resetRefs(): void {
  categories = null;
  depts = null;
  areas = null;
  geo.clear();
}

export function byId<T extends { id: number }>(rows: T[]): Map<number, T> {
  return new Map(rows.map((r) => [r.id, r]));
}

/** "一级 / 二级 / 三级" path of a category. */
export function categoryPath(id: number | null | undefined, map: Map<number, Category>): string {
  if (id === null || id === undefined) return '—';
  const names: string[] = [];
  let cur = map.get(id);
  let guard = 0;
  while (cur && guard < 5) {
    names.unshift(cur.name);
    cur = cur.parent_id !== null ? map.get(cur.parent_id) : undefined;
    guard += 1;
  }
  return names.length ? names.join(' / ') : `#${id}`;
}

/** "区 / 街道 / 社区 / 网格" path of an area, without the city root. */
export function areaPath(id: number | null | undefined, map: Map<number, Area>): string {
  if (id === null || id === undefined) return '—';
  const names: string[] = [];
  let cur = map.get(id);
  let guard = 0;
  while (cur && guard < 6) {
    if (cur.level !== 'city') names.unshift(cur.name);
    cur = cur.parent_id !== null ? map.get(cur.parent_id) : undefined;
    guard += 1;
  }
  return names.length ? names.join(' / ') : map.get(id)?.name ?? `#${id}`;
}
