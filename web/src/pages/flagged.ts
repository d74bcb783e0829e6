// Closed cases whose reporter answered "not fixed" to the follow-up (回访未解决): listed on the
// hotline console for operators and shift leads; a shift lead reopens one (重办) from here, which
// takes it off the list. The case stays closed until then: only a shift lead reopens.

import { act, get, me } from '../api';
import { fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang, stateName } from '../i18n';

interface Flagged {
  case_id: number;
  number: string;
  title: string;
  state: string;
  answered_at: string;
}

export function flaggedList(signal: AbortSignal): { el: HTMLElement; load: () => Promise<void> } {
  const list = h('ul', { class: 'plain', id: 'flagged-list' });
  const el = h('section', { class: 'card', 'aria-labelledby': 'fl-h' }, h('h2', { id: 'fl-h' }, L('回访未解决（待值班长复核）', 'Reported not fixed (for the shift lead)')), list);
  const load = async () => {
    const rows = await get<Flagged[]>('/api/v1/followups/flagged', { signal });
    const lead = me()?.role === 'shift_lead';
    replace(
      list,
      rows.length
        ? rows.map((r) => {
            const st = statusBox();
            const item = h('li', { class: 'card', 'data-flagged': r.number }, h('h3', null, `${r.number} · ${r.title}`), h('p', { class: 'muted' }, `${stateName(r.state)} · ${L('反映人答复未解决于', 'reporter said not fixed at')} ${fmtTime(r.answered_at, lang())}`));
            if (lead) {
              const reopen = h('button', { type: 'button' }, L('重新办理', 'Reopen'));
              reopen.addEventListener('click', async () => {
                reopen.disabled = true;
                try {
                  await act(r.case_id, { action: 'reopen', reason: '反映人回访表示问题未解决' });
                  showOk(st, L(`案件 ${r.number} 已重新办理。`, `Case ${r.number} was reopened.`));
                } catch (e) {
                  showError(st, e);
                  reopen.disabled = false;
                }
              });
              item.append(reopen, st);
            }
            return item;
          })
        : h('li', { class: 'muted' }, L('暂无。', 'None.')),
    );
  };
  return { el, load };
}
