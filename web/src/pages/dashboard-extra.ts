// The dashboard's panels beyond the charts: month-on-month and year-on-year change of the
// key figures, overdue and surge alerts with links to the cases, the open cases of one area (the
// end of the drill-down), 红黑榜, and the links from counts to the case lists of the dispatch
// console.

import { get, me, optional, qs, type Case, type Indicators } from '../api';
import { h, replace } from '../dom';
import { L, channelName, stateName } from '../i18n';
import { mayOpen } from '../page';
import { localDay, type AreaLoad } from './dashboard-data';

export const OPEN_STATES = 'received,registered,dispatched,handling,feedback,checked,parked';

export interface ChannelCount {
  channel: string;
  cases: number;
}

/** The same 30 days a month earlier and a year earlier, for 环比 and 同比. */
export async function fetchComparisons(areaId: number | null, signal: AbortSignal): Promise<{ prev: Indicators | null; lastYear: Indicators | null }> {
  const area = areaId ?? undefined;
  const yearAgo = (d: string) => `${Number(d.slice(0, 4)) - 1}${d.slice(4)}`.replace(/-02-29$/, '-02-28');
  const [prev, lastYear] = await Promise.all([
    get<Indicators>(`/api/v1/stats/summary${qs({ area_id: area, from: localDay(-59), to: localDay(-30) })}`, { signal }).catch(() => null),
    get<Indicators>(`/api/v1/stats/summary${qs({ area_id: area, from: yearAgo(localDay(-29)), to: yearAgo(localDay()) })}`, { signal }).catch(() => null),
  ]);
  return { prev, lastYear };
}

/**
 * Fills `slot` with the channel mix of the 30 days once it arrives. It is counted from the cases of
 * the period (not from rolled-up counters), so it never holds up the first view; where the
 * endpoint is missing the slot stays hidden. A channel opens its cases through `onOpen`.
 */
export async function fillChannelMix(slot: HTMLElement, areaId: number | null, signal: AbortSignal, onOpen?: (channel: string, from?: HTMLElement) => void): Promise<void> {
  const rows = await optional<ChannelCount[]>('GET', `/api/v1/stats/channels${qs({ area_id: areaId ?? undefined, from: localDay(-29), to: localDay() })}`, { signal }).catch(() => null);
  if (rows === null || !slot.isConnected) return;
  slot.replaceWith(channelMix(rows, onOpen));
}

const CHANNEL_COLORS: Record<string, string> = { hotline: '#5fb3f9', web: '#7bd389', grid: '#f2c14e', api: '#c39bd3', sensor: '#4fd1c5' };

/**
 * 渠道构成: the share of each intake channel over the 30 days, as one segmented bar and its legend;
 * with `onOpen`, a segment or the channel's legend button opens the channel's cases.
 */
export function channelMix(rows: ChannelCount[], onOpen?: (channel: string, from?: HTMLElement) => void): HTMLElement {
  const total = rows.reduce((n, r) => n + r.cases, 0);
  const sorted = [...rows].sort((a, b) => b.cases - a.cases || a.channel.localeCompare(b.channel));
  const share = (r: ChannelCount) => (total ? (r.cases / total) * 100 : 0);
  const label = sorted.map((r) => `${channelName(r.channel)} ${r.cases}（${share(r).toFixed(0)}%）`).join(L('，', ', '));
  return h(
    'div',
    { class: 'kpi kpi-channels', role: 'listitem', 'data-testid': 'channel-mix', 'data-total': String(total) },
    h('div', { class: 'kpi-label' }, L('30天渠道构成', 'Channels (30 d)')),
    h(
      'div',
      { class: onOpen ? 'mix-bar opens' : 'mix-bar', role: 'img', 'aria-label': `${L('渠道构成：', 'Channel mix: ')}${label || '—'}` },
      sorted.map((r) => {
        const seg = h('span', { style: { width: `${share(r)}%`, background: CHANNEL_COLORS[r.channel] ?? '#8a9bb0' }, 'data-channel': r.channel });
        // The mouse's way in; the legend's buttons are the keyboard's.
        if (onOpen) seg.addEventListener('click', () => onOpen(r.channel));
        return seg;
      }),
    ),
    h(
      'ul',
      { class: 'mix-legend' },
      sorted.map((r) => {
        const dot = h('span', { class: 'dot', style: { background: CHANNEL_COLORS[r.channel] ?? '#8a9bb0' } });
        const text = `${channelName(r.channel)} ${share(r).toFixed(0)}%`;
        if (!onOpen) return h('li', { 'data-channel': r.channel, 'data-cases': String(r.cases) }, dot, text);
        const btn = h('button', { type: 'button', class: 'kpi-link', 'data-figure': 'reported', 'data-channel': r.channel, 'aria-haspopup': 'dialog', 'aria-label': `${text}${L('，', ', ')}${r.cases} ${L('件', 'cases')}` }, text);
        btn.addEventListener('click', () => onOpen(r.channel, btn));
        return h('li', { 'data-channel': r.channel, 'data-cases': String(r.cases) }, dot, btn);
      }),
    ),
  );
}

/** "环比 +12.5%" (counts: relative change; rates: points). Null when there is nothing to compare. */
export function change(label: string, cur: number | null | undefined, prev: number | null | undefined, rate: boolean): { text: string; dir: 'up' | 'down' | 'flat' } | null {
  if (cur === null || cur === undefined || prev === null || prev === undefined) return null;
  if (rate) {
    const pts = (cur - prev) * 100;
    return { text: `${label} ${pts >= 0 ? '+' : ''}${pts.toFixed(1)}${L('个百分点', ' pts')}`, dir: pts > 0.05 ? 'up' : pts < -0.05 ? 'down' : 'flat' };
  }
  if (prev === 0) return cur === 0 ? { text: `${label} 0%`, dir: 'flat' } : null;
  const pct = ((cur - prev) / prev) * 100;
  return { text: `${label} ${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`, dir: pct > 0.05 ? 'up' : pct < -0.05 ? 'down' : 'flat' };
}

/** A link to a case list of the dispatch console, for the roles that may open it. */
export function caseListLink(view: string, content: string, extra: Record<string, string | number> = {}): HTMLElement | string {
  if (!mayOpen('dispatch', me()?.role)) return content;
  return h('a', { href: `#/dispatch${qs({ view, ...extra })}`, class: 'kpi-link', 'data-view': view }, content);
}

/** Overdue alerts (the areas with most overdue cases) and a surge alert (today far above the daily average). */
export function renderAlerts(
  el: HTMLElement,
  opts: { loads: AreaLoad[]; nameOf: (id: number) => string; overdue: number; today: number; dailyAverage: number; childLevel: string },
): number {
  const items: HTMLElement[] = [];
  if (opts.dailyAverage > 0 && opts.today >= Math.max(5, 2 * opts.dailyAverage)) {
    items.push(
      h('li', { 'data-alert': 'surge' }, h('span', { class: 'sev' }, L('激增 ', 'Surge ')), L(`今日受理 ${opts.today} 件，为近30天日均 ${opts.dailyAverage.toFixed(1)} 件的 ${(opts.today / opts.dailyAverage).toFixed(1)} 倍`, `${opts.today} appeals today, ${(opts.today / opts.dailyAverage).toFixed(1)}× the 30-day daily average of ${opts.dailyAverage.toFixed(1)}`)),
    );
  }
  const worst = opts.loads
    .filter((l) => l.overdue > 0)
    .sort((a, b) => b.overdue - a.overdue || b.open - a.open || opts.nameOf(a.area_id).localeCompare(opts.nameOf(b.area_id), 'zh'))
    .slice(0, 5);
  for (const l of worst) {
    items.push(
      h(
        'li',
        { 'data-alert': 'overdue', 'data-area': String(l.area_id) },
        h('span', { class: 'sev' }, L('超期 ', 'Overdue ')),
        caseListLink('overdue', `${opts.nameOf(l.area_id)} ${l.overdue} ${L('件', '')}`, { area: l.area_id }),
        L(`（在办 ${l.open}）`, ` (open ${l.open})`),
      ),
    );
  }
  if (!items.length) items.push(h('li', { class: 'muted' }, opts.overdue ? L(`共 ${opts.overdue} 件超期`, `${opts.overdue} overdue`) : L('暂无超期或激增预警。', 'No overdue or surge alerts.')));
  replace(el, items);
  return worst.length + (items.some((i) => i.dataset.alert === 'surge') ? 1 : 0);
}

/** The open cases of one area: where the drill-down ends (the grid level). */
export async function areaCases(el: HTMLElement, areaId: number, name: string, signal: AbortSignal): Promise<number> {
  const rows = await get<Case[]>(`/api/v1/cases${qs({ area_id: areaId, state: OPEN_STATES, order: 'priority', limit: 50 })}`, { signal });
  replace(
    el,
    h('h3', null, L(`${name} · 在办案件 ${rows.length} 件`, `${name} · ${rows.length} open case(s)`)),
    rows.length
      ? h(
          'ul',
          { class: 'area-cases', 'data-area': String(areaId) },
          rows.map((c) => h('li', { 'data-number': c.number }, caseListLink('open', c.number, { case: c.number, area: areaId }), ` ${stateName(c.state)}${c.overdue ? L(' · 超期', ' · overdue') : ''} · ${c.title || c.text.slice(0, 30)}`)),
        )
      : h('p', { class: 'muted' }, L('没有在办案件。', 'No open cases.')),
  );
  return rows.length;
}

/** 红黑榜: the best and the worst departments by on-time closure — three each, fewer when fewer than six are ranked (never the same unit on both). */
export function redBlack(ranked: { name: string; rate: number; closed: number }[]): HTMLElement[] {
  const n = Math.min(3, Math.floor(ranked.length / 2));
  if (n === 0) return [];
  const fmt = (r: { name: string; rate: number; closed: number }) => `${r.name} ${(r.rate * 100).toFixed(0)}%`;
  return [
    h('li', { 'data-alert': 'red' }, h('strong', null, L('红榜 ', 'Best ')), ranked.slice(0, n).map(fmt).join(L('、', ', '))),
    h('li', { 'data-alert': 'black' }, h('span', { class: 'sev' }, L('黑榜 ', 'Worst ')), ranked.slice(-n).reverse().map(fmt).join(L('、', ', '))),
  ];
}
