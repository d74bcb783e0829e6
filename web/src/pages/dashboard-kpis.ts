// The dashboard's key figures: today's intake and the open and overdue cases now (links to the
// dispatch console's lists), the 30 days' counts and rates, each opening the cases behind it,
// with 环比 (the 30 days before) and 同比 (the same 30 days a year ago), and the channel mix (a
// channel opens its cases).

import type { Indicators } from '../api';
import { h, pct, replace } from '../dom';
import { L, channelName } from '../i18n';
import type { DashboardData } from './dashboard-data';
import { caseListLink, change, fillChannelMix } from './dashboard-extra';
import { figureButton, type FigureAsk } from './dashboard-figures';
import type { Scope } from './dashboard-view';

export interface KpiArgs {
  scope: Scope;
  data: DashboardData;
  cmp: { prev: Indicators | null; lastYear: Indicators | null };
  period: { from: string; to: string };
  /** Opens the cases behind a figure. */
  openFigure: (ask: FigureAsk, from?: HTMLElement) => void;
  signal: AbortSignal;
}

/**
 * Fills `el` with the key figures of a scope; `values` gets each figure's value element by key
 * (the live feed counts today's intake up in it). Returns today's intake.
 */
export function renderKpis(el: HTMLElement, values: Map<string, HTMLElement>, a: KpiArgs): number {
  const { scope, cmp } = a;
  const { summary, todaySummary, states } = a.data;
  values.clear();
  const kpi = (key: string, label: string, value: string | HTMLElement, sub?: string, deltas: ({ text: string; dir: string } | null)[] = []) => {
    const v = h('div', { class: 'kpi-value', 'data-kpi': key }, value);
    values.set(key, v);
    return h(
      'div',
      { class: 'kpi', role: 'listitem' },
      h('div', { class: 'kpi-label' }, label),
      v,
      sub ? h('div', { class: 'kpi-sub' }, sub) : null,
      deltas.filter((d) => d !== null).map((d) => h('div', { class: `kpi-delta ${d!.dir}`, 'data-delta': key }, d!.text)),
    );
  };
  // A figure of this scope opens its cases (a rate: those below its line, the misses marked).
  const figureOf = (figure: string, text: string) => figureButton(figure, text, (btn) => a.openFigure({ figure, scopeName: scope.name, area: scope.id, ...a.period }, btn));

  const open = states.filter((s) => !['closed', 'evaluated', 'voided'].includes(s.state)).reduce((n, s) => n + s.count, 0);
  const overdue = states.filter((s) => s.overdue && !['closed', 'evaluated', 'voided'].includes(s.state)).reduce((n, s) => n + s.count, 0);
  const todayCount = todaySummary.counts.reported ?? 0;
  const channelSlot = h('div', { class: 'kpi kpi-channels', role: 'listitem', hidden: true });
  // 环比: the 30 days before; 同比: the same 30 days a year ago.
  const mom = L('环比', 'MoM');
  const yoy = L('同比', 'YoY');
  // A rate going up is good news (green), down bad (red); a count's change is shown plainly.
  const tone = (d: ReturnType<typeof change>, rate: boolean) => (d ? { text: d.text, dir: rate && d.dir !== 'flat' ? (d.dir === 'up' ? 'good' : 'bad') : 'flat' } : null);
  const both = (cur: (i: Indicators) => number | null | undefined, rate: boolean) => [
    cmp.prev ? tone(change(mom, cur(summary), cur(cmp.prev), rate), rate) : null,
    cmp.lastYear ? tone(change(yoy, cur(summary), cur(cmp.lastYear), rate), rate) : null,
  ];
  const areaParam: Record<string, number> = scope.id !== null ? { area: scope.id } : {};
  replace(
    el,
    kpi('today', L('今日受理', 'Appeals today'), caseListLink('intake', String(todayCount), areaParam)),
    kpi('open', L('在办案件', 'Open cases'), caseListLink('open', String(open), areaParam)),
    kpi('overdue', L('超期案件', 'Overdue'), caseListLink('overdue', String(overdue), areaParam)),
    kpi('reported', L('30天受理', 'Appeals (30 d)'), figureOf('reported', String(summary.counts.reported ?? 0)), undefined, both((i) => i.counts.reported ?? 0, false)),
    kpi('registered', L('30天立案', 'Registered (30 d)'), figureOf('registered', String(summary.registered)), undefined, both((i) => i.registered, false)),
    kpi('response', L('响应率', 'Response rate'), figureOf('response_rate', pct(summary.response_rate)), L('三率', 'three rates'), both((i) => i.response_rate, true)),
    kpi('resolution', L('解决率', 'Resolution rate'), figureOf('resolution_rate', pct(summary.resolution_rate)), L('三率', 'three rates'), both((i) => i.resolution_rate, true)),
    kpi('satisfaction', L('满意率', 'Satisfaction rate'), figureOf('satisfaction_rate', pct(summary.satisfaction_rate)), L('三率', 'three rates'), both((i) => i.satisfaction_rate, true)),
    kpi('ontime', L('按期结案率', 'On-time closure'), figureOf('on_time_closure_rate', pct(summary.on_time_closure_rate)), undefined, both((i) => i.on_time_closure_rate, true)),
    kpi('closure', L('结案率', 'Closure rate'), figureOf('closure_rate', pct(summary.closure_rate))),
    channelSlot,
  );
  // A channel opens the 30 days' cases that came in by it.
  void fillChannelMix(channelSlot, scope.id, a.signal, (channel, from) => a.openFigure({ figure: 'reported', scopeName: `${scope.name} · ${channelName(channel)}`, area: scope.id, channel, ...a.period }, from));
  values.get('overdue')?.classList.toggle('alarm', overdue > 0);
  return todayCount;
}
