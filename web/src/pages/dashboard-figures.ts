// Click-through from a figure of the dashboard to its cases. A rate (结案率, 按期结案率, 响应率,
// 解决率, 满意率) opens the cases of its denominator with the ones that miss it marked and listed
// first (the cases closed late behind 按期结案率), with a switch to show only those; a count (30天
// 受理, 30天立案) opens the cases it counts, also of one intake channel (the channel mix) or of
// some level-1 categories (the trend by category). Read from GET /api/v1/stats/figure-cases, in a dialog
// over the dashboard that Esc closes and that gives focus back to the figure.

import { get, me, qs, type Case } from '../api';
import { h, pct, replace } from '../dom';
import { errorText } from '../errors';
import { L, satisfactionName, stateName } from '../i18n';
import { mayOpen } from '../page';

export interface FigureCase {
  id: number;
  number: string;
  title: string;
  state: string;
  area_id: number;
  created_at: string;
  closed_at: string | null;
  closure_type: string | null;
  satisfaction: string | null;
  resolved: boolean | null;
  accepted_at: string | null;
  response_due_at: string | null;
  overdue: boolean;
  meets: boolean;
}

export interface FigureCases {
  figure: string;
  denominator: number;
  meeting: number;
  missing: number;
  cases: FigureCase[];
}

/** What a figure's numbers are called: its denominator, those that meet it, those that miss it. */
const WORDS: Record<string, { label: [string, string]; base: [string, string]; meet?: [string, string]; miss?: [string, string] }> = {
  reported: { label: ['30天受理', 'Appeals (30 d)'], base: ['受理', 'reported'] },
  registered: { label: ['30天立案', 'Registered (30 d)'], base: ['立案', 'registered'] },
  closure_rate: { label: ['结案率', 'Closure rate'], base: ['立案', 'registered'], meet: ['已结案', 'closed'], miss: ['未结案', 'not closed'] },
  on_time_closure_rate: { label: ['按期结案率', 'On-time closure'], base: ['结案', 'closed'], meet: ['按期结案', 'closed on time'], miss: ['超期结案', 'closed late'] },
  response_rate: { label: ['响应率', 'Response rate'], base: ['派遣', 'dispatched'], meet: ['按时签收', 'accepted in time'], miss: ['未按时签收', 'not accepted in time'] },
  resolution_rate: { label: ['解决率', 'Resolution rate'], base: ['评价', 'rated'], meet: ['已解决', 'resolved'], miss: ['未解决', 'not resolved'] },
  satisfaction_rate: { label: ['满意率', 'Satisfaction rate'], base: ['评价', 'rated'], meet: ['满意或基本满意', 'satisfied'], miss: ['不满意', 'dissatisfied'] },
};

/** Whether a figure's cases can be listed. */
export function listable(figure: string): boolean {
  return figure in WORDS;
}

const w = (pair: [string, string]) => L(pair[0], pair[1]);

/** Why one case misses its figure, in words. */
function missReason(figure: string, c: FigureCase): string {
  switch (figure) {
    case 'closure_rate':
      return L(`未结案（${stateName(c.state)}）`, `not closed (${stateName(c.state)})`);
    case 'on_time_closure_rate':
      return c.closure_type === 'overdue' ? L('超期结案', 'closed late') : c.closure_type === 'error' ? L('差错结案', 'closed with an error') : c.closure_type === 'special' ? L('特殊结案', 'closed by special decision') : (c.closure_type ?? '—');
    case 'response_rate':
      return c.accepted_at ? L('超时签收', 'accepted late') : L('未签收', 'not accepted');
    case 'resolution_rate':
      return L('评价为未解决', 'rated not resolved');
    case 'satisfaction_rate':
      return c.satisfaction ? satisfactionName(c.satisfaction) : '—';
    default:
      return '';
  }
}

export interface FigureAsk {
  figure: string;
  /** Where the list was asked from, e.g. "全市" or a department's name. */
  scopeName: string;
  from: string;
  to: string;
  area?: number | null;
  dept?: number;
  /** Only the cases opened through this channel (a segment of the channel mix). */
  channel?: string;
  /** Only the cases under these level-1 category codes, `none` for no category (a series of the trend by category). */
  categories?: string[];
  /** An open state instead of a figure of the period: its cases now, the overdue ones marked. */
  state?: string;
}

/**
 * The dashboard's one dialog for the cases behind a figure. `open` fills it and shows it; the
 * element that asked gets focus back when it closes.
 */
export function figureDialog(nameOfArea: () => (id: number) => string, signal: AbortSignal): { el: HTMLDialogElement; open: (ask: FigureAsk, from?: HTMLElement) => Promise<void> } {
  const title = h('h2', { id: 'fig-h' });
  const summary = h('p', { 'data-testid': 'figure-summary', role: 'status' });
  const onlyMissing = h('input', { type: 'checkbox', id: 'fig-missing', 'data-testid': 'figure-missing-only' });
  const toggle = h('label', { class: 'fig-toggle', for: 'fig-missing' }, onlyMissing, ' ', L('只看未达标的案件', 'Only the cases that miss it'));
  const body = h('div', { class: 'fig-body' });
  const close = h('button', { type: 'button', class: 'ghost-dark', 'data-testid': 'figure-close' }, L('关闭', 'Close'));
  const el = h(
    'dialog',
    { class: 'figure-cases', 'aria-labelledby': 'fig-h', 'data-testid': 'figure-cases' },
    h('div', { class: 'fig-head' }, title, close),
    summary,
    toggle,
    body,
  );
  let opener: HTMLElement | undefined;
  let openerKpi: string | null = null;
  let current: FigureAsk | null = null;
  close.addEventListener('click', () => el.close());
  // Focus goes back to the figure (drawn again meanwhile by a live refresh: to its new button).
  el.addEventListener('close', () => {
    const again = opener?.isConnected ? opener : openerKpi ? document.querySelector<HTMLElement>(`[data-kpi="${openerKpi}"] button`) : null;
    again?.focus();
  });

  const fill = async () => {
    const ask = current;
    if (!ask) return;
    if (ask.state) return fillState(ask, ask.state);
    const words = WORDS[ask.figure];
    const rate = words.meet !== undefined;
    toggle.hidden = !rate;
    el.dataset.loading = '1';
    replace(body, h('p', { class: 'muted' }, L('加载中…', 'Loading…')));
    try {
      const res = await get<FigureCases>(
        `/api/v1/stats/figure-cases${qs({ figure: ask.figure, from: ask.from, to: ask.to, area_id: ask.area ?? undefined, dept_id: ask.dept, channel: ask.channel, category: ask.categories?.join(','), missing: rate && onlyMissing.checked ? true : undefined, limit: 200 })}`,
        { signal },
      );
      if (current !== ask) return;
      el.dataset.denominator = String(res.denominator);
      el.dataset.missing = String(res.missing);
      summary.textContent = rate
        ? L(
            `${w(words.base)} ${res.denominator} 件，其中${w(words.meet!)} ${res.meeting} 件（${pct(res.denominator ? res.meeting / res.denominator : null)}），${w(words.miss!)} ${res.missing} 件（标“未达标”，排在前面）。`,
            `${res.denominator} ${w(words.base)}: ${res.meeting} ${w(words.meet!)} (${pct(res.denominator ? res.meeting / res.denominator : null)}), ${res.missing} ${w(words.miss!)} (marked “missed”, listed first).`,
          )
        : L(`${w(words.base)} ${res.denominator} 件。`, `${res.denominator} ${w(words.base)}.`);
      // 响应率 is counted per dispatch; a case sent again after a return is one line here.
      if (ask.figure === 'response_rate') summary.textContent += L('响应率按派遣次数计算，回退后重新派遣的案件在此只列一次（按最近一次派遣）。', ' The rate counts dispatches; a case dispatched again after a return is listed once (by its latest dispatch).');
      const areaName = nameOfArea();
      const dispatchable = mayOpen('dispatch', me()?.role);
      const openStates = new Set(['received', 'registered', 'dispatched', 'handling', 'feedback', 'checked', 'parked']);
      const shown = res.cases.length;
      const total = rate && onlyMissing.checked ? res.missing : res.denominator;
      replace(
        body,
        shown
          ? h(
              'table',
              { class: 'data fig-table' },
              h('caption', { class: 'sr-only' }, title.textContent ?? ''),
              h('thead', null, h('tr', null, [L('编号', 'Number'), L('标题', 'Title'), L('区域', 'Area'), L('状态', 'State'), rate ? L('是否达标', 'Meets it') : null].filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
              h(
                'tbody',
                null,
                res.cases.map((c) =>
                  h(
                    'tr',
                    { class: c.meets ? undefined : 'miss', 'data-number': c.number, 'data-meets': String(c.meets) },
                    h('th', { scope: 'row' }, dispatchable && openStates.has(c.state) ? h('a', { href: `#/dispatch${qs({ view: 'open', case: c.number })}` }, c.number) : c.number),
                    h('td', null, c.title),
                    h('td', null, areaName(c.area_id)),
                    h('td', null, stateName(c.state)),
                    rate ? h('td', null, c.meets ? w(words.meet!) : h('span', { class: 'miss-badge' }, `${L('未达标', 'missed')} · ${missReason(ask.figure, c)}`)) : null,
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, L('没有案件。', 'No cases.')),
        shown < total ? h('p', { class: 'muted' }, L(`显示前 ${shown} 件，共 ${total} 件。`, `The first ${shown} of ${total}.`)) : null,
      );
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      replace(body, h('p', { class: 'status error', role: 'alert' }, errorText(e)));
    } finally {
      delete el.dataset.loading;
    }
  };
  // The open cases of one state now (the state chart's bars), the overdue ones marked and first.
  const fillState = async (ask: FigureAsk, state: string) => {
    toggle.hidden = true;
    el.dataset.loading = '1';
    replace(body, h('p', { class: 'muted' }, L('加载中…', 'Loading…')));
    try {
      const rows = await get<Case[]>(`/api/v1/cases${qs({ state, area_id: ask.area ?? undefined, limit: 500 })}`, { signal });
      if (current !== ask) return;
      const sorted = [...rows].sort((a, b) => Number(b.overdue) - Number(a.overdue) || b.id - a.id);
      const late = rows.filter((c) => c.overdue).length;
      el.dataset.denominator = String(rows.length);
      el.dataset.missing = String(late);
      summary.textContent = L(`${stateName(state)} ${rows.length} 件，其中超期 ${late} 件（标“超期”，排在前面）。`, `${rows.length} ${stateName(state)}, ${late} overdue (marked, listed first).`);
      const areaName = nameOfArea();
      replace(
        body,
        rows.length
          ? h(
              'table',
              { class: 'data fig-table' },
              h('caption', { class: 'sr-only' }, title.textContent ?? ''),
              h('thead', null, h('tr', null, [L('编号', 'Number'), L('标题', 'Title'), L('区域', 'Area'), L('时限', 'Deadline')].map((t) => h('th', { scope: 'col' }, t)))),
              h(
                'tbody',
                null,
                sorted.map((c) =>
                  h(
                    'tr',
                    { class: c.overdue ? 'miss' : undefined, 'data-number': c.number, 'data-meets': String(!c.overdue) },
                    h('th', { scope: 'row' }, mayOpen('dispatch', me()?.role) ? h('a', { href: `#/dispatch${qs({ view: 'open', case: c.number })}` }, c.number) : c.number),
                    h('td', null, c.title || c.text.slice(0, 30)),
                    h('td', null, areaName(c.area_id)),
                    h('td', null, c.overdue ? h('span', { class: 'miss-badge' }, L('超期', 'overdue')) : L('未超期', 'in time')),
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, L('没有案件。', 'No cases.')),
      );
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      replace(body, h('p', { class: 'status error', role: 'alert' }, errorText(e)));
    } finally {
      delete el.dataset.loading;
    }
  };
  onlyMissing.addEventListener('change', () => void fill());

  const open = async (ask: FigureAsk, from?: HTMLElement) => {
    opener = from;
    openerKpi = from?.closest('[data-kpi]')?.getAttribute('data-kpi') ?? null;
    current = ask;
    el.dataset.figure = ask.figure;
    delete el.dataset.denominator;
    delete el.dataset.missing;
    onlyMissing.checked = false;
    title.textContent = ask.state
      ? `${L('在办', 'Open')} · ${stateName(ask.state)} · ${ask.scopeName}`
      : `${w(WORDS[ask.figure].label)} · ${ask.scopeName} · ${ask.from === ask.to ? ask.from : `${ask.from} – ${ask.to}`}`;
    summary.textContent = '';
    if (!el.open) el.showModal();
    await fill();
  };
  return { el, open };
}

/** A figure as a button that opens its cases. */
export function figureButton(figure: string, content: string, onOpen: (btn: HTMLElement) => void): HTMLElement {
  const btn = h('button', { type: 'button', class: 'kpi-link', 'data-figure': figure, 'aria-haspopup': 'dialog' }, content);
  btn.addEventListener('click', () => onOpen(btn));
  return btn;
}
