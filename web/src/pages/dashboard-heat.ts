// The dashboard map's point heat layer: where the cases of the last 30 days were reported, counted
// per cell of about 200 m by the server (GET /api/v1/stats/density), drawn as a heat map over the
// same area boundaries. The areas stay clickable for the drill-down.

import { get, qs } from '../api';
import type { EChartsCoreOption } from '../charts';
import { L } from '../i18n';
import { localDay } from './dashboard-data';

export interface DensityCell {
  lat: number;
  lon: number;
  cases: number;
}

/** The cells of the last 30 days in an area (the caller's scope when null), busiest first. */
export function fetchDensity(areaId: number | null, signal: AbortSignal): Promise<DensityCell[]> {
  return get<DensityCell[]>(`/api/v1/stats/density${qs({ area_id: areaId ?? undefined, from: localDay(-29), to: localDay() })}`, { signal });
}

/** The chart option: the boundaries registered as `mapName` with the heat of `cells` on top. */
export function heatOption(mapName: string, cells: DensityCell[], fontSize: number, text: string): EChartsCoreOption {
  const max = Math.max(1, ...cells.map((c) => c.cases));
  return {
    animation: false,
    backgroundColor: 'transparent',
    tooltip: {
      formatter: (p: { seriesType?: string; value?: number[] }) =>
        p.seriesType === 'heatmap' && p.value ? L(`约200米范围内 ${p.value[2]} 件`, `${p.value[2]} cases within about 200 m`) : '',
    },
    geo: {
      map: mapName,
      roam: false,
      selectedMode: false,
      label: { show: false },
      itemStyle: { areaColor: '#132a40', borderColor: '#8fb3d9', borderWidth: 1 },
      emphasis: { label: { show: false }, itemStyle: { areaColor: '#1d3d5c' } },
    },
    visualMap: {
      min: 0,
      max,
      left: 8,
      bottom: 8,
      text: [L('多', 'more'), L('少', 'fewer')],
      textStyle: { color: text, fontSize },
      inRange: { color: ['#2f6e9e', '#7bd389', '#f2c14e', '#e4572e'] },
      calculable: false,
      seriesIndex: 0,
    },
    series: [
      {
        type: 'heatmap',
        coordinateSystem: 'geo',
        pointSize: 10,
        blurSize: 14,
        data: cells.map((c) => [c.lon, c.lat, c.cases]),
      },
    ],
  };
}

/** One line for screen readers: how many cells, and the busiest. */
export function heatSummary(cells: DensityCell[]): string {
  const total = cells.reduce((n, c) => n + c.cases, 0);
  const top = cells[0];
  return top
    ? L(`热力：近30天 ${total} 件有位置的诉求，分布在 ${cells.length} 个约200米网格，最密集处 ${top.cases} 件`, `Heat: ${total} located appeals in 30 days over ${cells.length} cells of about 200 m; the busiest has ${top.cases}`)
    : L('热力：近30天没有带位置的诉求。', 'Heat: no located appeals in the last 30 days.');
}
