// 物联感知: the devices on a map (longitude/latitude scatter) coloured by state — online, offline,
// in alarm — with their latest readings, and a device's page: a chart of its recent readings and
// its alarms.

import { get, qs } from '../api';
import { fmtTime, h } from '../dom';
import { L, lang } from '../i18n';
import type { Ctx } from '../page';
import { disposeChart, draw, makeChart } from '../charts';

interface Device {
  code: string;
  type: string;
  name: string;
  unit: string;
  lat: number;
  lon: number;
  asset_id: string | null;
  state: string;
  last_value: number | null;
  last_at: string | null;
}

interface Reading {
  at: string;
  value: number;
}

interface Alarm {
  id: number;
  rule_zh: string;
  rule: string;
  state: string;
  message: string;
  raised_at: string;
  case_id: number | null;
}

const STATES: Record<string, [string, string, string]> = {
  online: ['在线', 'Online', '#1a7f37'],
  offline: ['离线', 'Offline', '#57606a'],
  alarm: ['告警', 'In alarm', '#b42318'],
};

function stateLabel(state: string): HTMLElement {
  const [zh, en] = STATES[state] ?? [state, state];
  return h('span', { class: `badge sensor-${state}` }, L(zh, en));
}

async function devicePage(ctx: Ctx, code: string): Promise<void> {
  const d = await get<Device>(`/api/v1/sensors/devices/${encodeURIComponent(code)}`, { signal: ctx.signal });
  ctx.main.append(
    h('p', null, h('a', { href: '#/sensors' }, L('← 全部设备', '← All devices'))),
    h('h1', null, `${d.name}（${d.code}）`),
    h('p', { class: 'lead' }, stateLabel(d.state), ' ', L('最新读数：', 'Latest reading: '), d.last_value === null ? '—' : `${d.last_value} ${d.unit}`, d.last_at ? ` · ${fmtTime(d.last_at, lang())}` : '', d.asset_id ? ` · ${L('部件', 'Asset')} ${d.asset_id}` : ''),
  );
  const readings = await get<Reading[]>(`/api/v1/sensors/devices/${encodeURIComponent(code)}/readings${qs({ limit: 500 })}`, { signal: ctx.signal });
  const box = h('div', { class: 'chart', style: 'height:320px' });
  ctx.main.append(h('section', { 'aria-labelledby': 'sensor-chart-h' }, h('h2', { id: 'sensor-chart-h' }, L('最近读数', 'Recent readings')), box));
  const chart = makeChart(box, L(`${d.name}最近 ${readings.length} 条读数`, `${readings.length} recent readings of ${d.name}`));
  ctx.dispose(() => disposeChart(chart));
  await draw(chart, {
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'time' },
    yAxis: { type: 'value', name: d.unit },
    series: [{ type: 'line', showSymbol: false, data: readings.map((r) => [r.at, r.value]) }],
  });
  const alarms = await get<Alarm[]>(`/api/v1/sensors/alarms${qs({ device: code, limit: 50 })}`, { signal: ctx.signal });
  const list = h('ul', null);
  for (const a of alarms) {
    list.append(h('li', null, fmtTime(a.raised_at, lang()), ' · ', L(a.rule_zh, a.rule), ' · ', a.message, ' · ', a.state, a.case_id ? ` · ${L('案件', 'case')} ${a.case_id}` : ''));
  }
  ctx.main.append(h('section', { 'aria-labelledby': 'sensor-alarms-h' }, h('h2', { id: 'sensor-alarms-h' }, L('告警', 'Alarms')), alarms.length ? list : h('p', { class: 'muted' }, L('暂无告警。', 'No alarms.'))));
}

export async function sensorsPage(ctx: Ctx): Promise<void> {
  const code = ctx.params.get('device');
  if (code) return devicePage(ctx, code);
  ctx.main.append(h('h1', null, L('物联感知', 'Sensors')));
  const devices = await get<Device[]>(`/api/v1/sensors/devices${qs({ limit: 2000 })}`, { signal: ctx.signal });
  const counts = Object.keys(STATES).map((s) => `${L(STATES[s][0], STATES[s][1])} ${devices.filter((d) => d.state === s).length}`);
  ctx.main.append(h('p', { class: 'lead' }, L(`共 ${devices.length} 台设备：`, `${devices.length} devices: `), counts.join(' · ')));
  if (!devices.length) {
    ctx.main.append(h('p', { class: 'muted' }, L('尚未登记设备。', 'No devices registered yet.')));
    return;
  }
  const box = h('div', { class: 'chart', style: 'height:420px' });
  ctx.main.append(h('section', { 'aria-labelledby': 'sensor-map-h' }, h('h2', { id: 'sensor-map-h' }, L('设备分布（按状态着色）', 'Devices by state')), box));
  const chart = makeChart(box, L('设备位置，按在线、离线、告警着色', 'Device positions coloured by online, offline and alarm'));
  ctx.dispose(() => disposeChart(chart));
  chart.on('click', (p) => {
    const data = p.data as { code?: string } | undefined;
    if (data?.code) location.hash = `#/sensors?device=${encodeURIComponent(data.code)}`;
  });
  await draw(chart, {
    tooltip: { trigger: 'item', formatter: (p: { data: { name: string; v: string } }) => `${p.data.name}<br>${p.data.v}` },
    legend: { top: 0 },
    xAxis: { type: 'value', scale: true, name: L('经度', 'lon') },
    yAxis: { type: 'value', scale: true, name: L('纬度', 'lat') },
    series: Object.entries(STATES).map(([state, [zh, en, color]]) => ({
      name: L(zh, en),
      type: 'scatter',
      itemStyle: { color },
      data: devices.filter((d) => d.state === state).map((d) => ({ value: [d.lon, d.lat], name: d.name, code: d.code, v: d.last_value === null ? '—' : `${d.last_value} ${d.unit}` })),
    })),
  });
  const rows = devices.map((d) =>
    h('tr', null,
      h('td', null, h('a', { href: `#/sensors?device=${encodeURIComponent(d.code)}` }, d.code)),
      h('td', null, d.name),
      h('td', null, d.type),
      h('td', null, stateLabel(d.state)),
      h('td', null, d.last_value === null ? '—' : `${d.last_value} ${d.unit}`),
      h('td', null, d.last_at ? fmtTime(d.last_at, lang()) : '—'),
    ),
  );
  ctx.main.append(
    h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('caption', null, L('设备与最新读数', 'Devices and their latest readings')),
      h('thead', null, h('tr', null, ...[L('编号', 'Code'), L('名称', 'Name'), L('类型', 'Type'), L('状态', 'State'), L('最新读数', 'Latest'), L('时间', 'At')].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, ...rows),
    )),
  );
}
