// Call-backs (回访) on the hotline console: closed cases waiting for the resident's verdict. The
// operator reads out the official reply, then records the outcome — a rating with solved or not,
// or "not reached" (kept on this screen with the number of attempts; the case stays due).

import { act, get, qs, type Case } from '../api';
import { fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang, satisfactionName } from '../i18n';
import { areaPath, categoryPath } from '../ref';
import type { Area, Category } from '../api';
import { officialReply, stateBadge } from '../widgets';

const ATTEMPTS_KEY = 'urbis.callback-attempts';

type Attempts = Record<string, { n: number; last: string }>;

function loadAttempts(): Attempts {
  try {
    const raw = JSON.parse(localStorage.getItem(ATTEMPTS_KEY) ?? '{}') as unknown;
    return raw && typeof raw === 'object' ? (raw as Attempts) : {};
  } catch {
    return {};
  }
}

function saveAttempts(a: Attempts): void {
  // Bounded: only the 200 most recent numbers are kept.
  const entries = Object.entries(a).sort((x, y) => y[1].last.localeCompare(x[1].last)).slice(0, 200);
  localStorage.setItem(ATTEMPTS_KEY, JSON.stringify(Object.fromEntries(entries)));
}

export function callbackList(catMap: Map<number, Category>, areaMap: Map<number, Area>, signal: AbortSignal): { el: HTMLElement; load: () => Promise<void> } {
  const el = h('div');
  const row = (c: Case): HTMLElement => {
    const outcome = h(
      'select',
      { id: `cb-out-${c.id}`, 'aria-label': `${L('回访结果', 'Call-back outcome')} ${c.number}` },
      h('option', { value: '' }, L('（请选择结果）', '(choose the outcome)')),
      ['satisfied', 'basically_satisfied', 'dissatisfied'].map((s) => h('option', { value: s }, satisfactionName(s))),
      h('option', { value: 'not_reached' }, L('未接通', 'Not reached')),
    );
    const solved = h(
      'select',
      { id: `cb-res-${c.id}`, 'aria-label': `${L('问题是否解决', 'Solved?')} ${c.number}` },
      h('option', { value: '' }, L('（是否解决）', '(solved?)')),
      h('option', { value: 'yes' }, L('已解决', 'Solved')),
      h('option', { value: 'no' }, L('未解决', 'Not solved')),
    );
    outcome.addEventListener('change', () => (solved.disabled = outcome.value === 'not_reached'));
    const st = statusBox();
    const attempts = h('span', { class: 'cb-attempts' });
    const showAttempts = () => {
      const a = loadAttempts()[c.number];
      attempts.textContent = a ? L(`未接通 ${a.n} 次，最近 ${fmtTime(a.last, lang())}`, `not reached ${a.n}×, last ${fmtTime(a.last, lang())}`) : '';
    };
    showAttempts();
    const reply = h('p', { class: 'reply', 'aria-live': 'polite' }, L('答复口径加载中…', 'Loading the reply…'));
    void officialReply(c).then((r) => replace(reply, h('strong', null, L('请向来电人读出答复：', 'Read out the reply: ')), r ?? L('（无处置反馈）', '(no feedback text)')));
    const btn = h('button', { type: 'button' }, L('记录回访', 'Record'));
    btn.addEventListener('click', async () => {
      if (!outcome.value) return showError(st, L('请选择回访结果。', 'Choose the outcome.'));
      if (outcome.value === 'not_reached') {
        const all = loadAttempts();
        const prev = all[c.number];
        all[c.number] = { n: (prev?.n ?? 0) + 1, last: new Date().toISOString() };
        saveAttempts(all);
        showAttempts();
        showOk(st, L('已记录未接通，案件仍在待回访中。', 'Recorded as not reached; the call-back stays due.'));
        outcome.value = '';
        solved.disabled = false;
        return;
      }
      if (!solved.value) return showError(st, L('请选择问题是否解决。', 'Say whether the problem is solved.'));
      btn.disabled = true;
      try {
        await act(c.id, { action: 'rate', satisfaction: outcome.value, resolved: solved.value === 'yes', comment: '' });
        showOk(st, L(`已记录：${satisfactionName(outcome.value)}，${solved.value === 'yes' ? '已解决' : '未解决'}`, `Recorded: ${satisfactionName(outcome.value)}, ${solved.value === 'yes' ? 'solved' : 'not solved'}`));
        outcome.disabled = solved.disabled = true;
      } catch (e) {
        showError(st, e);
        btn.disabled = false;
      }
    });
    return h(
      'li',
      { class: 'callback', 'data-number': c.number },
      h('span', { class: 'num' }, c.number),
      ' ',
      stateBadge(c.state),
      ` ${c.title} · ${categoryPath(c.category_id, catMap)} · ${areaPath(c.area_id, areaMap)} · ${c.reporter_name || ''} ${c.reporter_phone || '—'} · ${L('结案', 'closed')} ${fmtTime(c.closed_at, lang())} `,
      attempts,
      reply,
      outcome,
      ' ',
      solved,
      ' ',
      btn,
      st,
    );
  };
  const load = async () => {
    const rows = await get<Case[]>(`/api/v1/cases${qs({ state: 'closed', limit: 20 })}`, { signal });
    replace(el, rows.length ? h('ul', { class: 'plain' }, rows.map(row)) : h('p', { class: 'muted' }, L('暂无待回访案件。', 'No cases wait for a call-back.')));
  };
  return { el, load };
}
