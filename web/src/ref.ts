// Reference data (taxonomy, departments, areas), fetched once per session and shared by pages.

import { get, type Area, type Category, type Dept } from './api';

let categories: Promise<Category[]> | null = null;
let depts: Promise<Dept[]> | null = null;
let areas: Promise<Area[]> | null = null;

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

export function resetRefs(): void {
  categories = null;
  depts = null;
  areas = null;
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
