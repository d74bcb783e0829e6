// ECharts, only the parts we draw with: maps of area boundaries, a heat layer, bars and lines, on canvas.

import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart, MapChart, ScatterChart } from 'echarts/charts';
import {
  GeoComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import { LabelLayout } from 'echarts/features';
import { CanvasRenderer } from 'echarts/renderers';
import type { ECharts, EChartsCoreOption } from 'echarts/core';

echarts.use([
  MapChart,
  BarChart,
  LineChart,
  ScatterChart,
  HeatmapChart,
  GeoComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  // Labels that would overlap are hidden (the public map's roads and places).
  LabelLayout,
  CanvasRenderer,
]);

export { echarts };
export type { ECharts, EChartsCoreOption };

/** Creates a chart in `el` (which gets role=img and the label) and resizes it with the window. */
export function makeChart(el: HTMLElement, label: string, theme?: string): ECharts {
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', label);
  const chart = echarts.init(el, theme, { renderer: 'canvas' });
  // A chart is never laid out at zero size (a hidden tab can report one): the map's view
  // transform cannot be inverted there.
  const ro = new ResizeObserver(() => {
    if (el.clientWidth > 0 && el.clientHeight > 0) chart.resize();
  });
  ro.observe(el);
  (chart as unknown as { __ro: ResizeObserver }).__ro = ro;
  return chart;
}

export function disposeChart(chart: ECharts): void {
  const ro = (chart as unknown as { __ro?: ResizeObserver }).__ro;
  ro?.disconnect();
  chart.dispose();
}

/** Sets the option and resolves after the chart's `finished` event (or a safety timeout). */
export function draw(chart: ECharts, option: EChartsCoreOption, notMerge = true): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      chart.off('finished', finish);
      resolve();
    };
    chart.on('finished', finish);
    chart.setOption(option, { notMerge });
    window.setTimeout(finish, 4000);
  });
}

/** Registers GeoJSON under a name (boundaries without geometry are left out). */
export function registerGeo(name: string, geojson: GeoJsonCollection): number {
  const features = geojson.features.filter((f) => f.geometry && (f.geometry as { type?: string }).type);
  echarts.registerMap(name, { type: 'FeatureCollection', features } as never);
  return features.length;
}

export interface GeoFeature {
  type: 'Feature';
  id?: number | string;
  properties: { id: number; code: string; name: string; level: string; parent_id: number | null; [k: string]: unknown };
  geometry: unknown;
}

export interface GeoJsonCollection {
  type: 'FeatureCollection';
  features: GeoFeature[];
}

/** Reads [lon, lat] of a click on a map series. */
export function pointOf(chart: ECharts, seriesIndex: number, offsetX: number, offsetY: number): [number, number] | null {
  const p = chart.convertFromPixel({ seriesIndex }, [offsetX, offsetY]) as number[] | undefined;
  if (!p || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) return null;
  return [p[0], p[1]];
}
