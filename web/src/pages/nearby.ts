// Open reports already filed in an area, each with "me too — join" (residents) or a link to the
// phone login (anyone else): shown while reporting (portal) and on a resident's own page, so a
// problem is joined instead of filed twice.

import { get, me, post, qs } from '../api';
import { fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang, stateName } from '../i18n';

interface Report {
  id: number;
  number: string;
  title: string;
  state: string;
  created_at: string;
  area_name: string | null;
}

export function nearbyPanel(signal: AbortSignal): { el: HTMLElement; show: (areaId: string) => Promise<void> } {
  const list = h('ul', { class: 'plain', id: 'near-list' });
  const st = statusBox();
  const el = h('section', { class: 'nearby', 'aria-live': 'polite', 'aria-label': L('附近已有的问题', 'Already reported near you'), hidden: true }, st, list);
  let seq = 0;
  const show = async (areaId: string) => {
    const mine = ++seq;
    if (!areaId) {
      el.hidden = true;
      return replace(list);
    }
    const reports = await get<Report[]>(`/api/v1/public/reports${qs({ area_id: areaId, open: true, limit: 10 })}`, { signal }).catch(() => [] as Report[]);
    if (mine !== seq) return;
    const resident = me()?.role === 'resident';
    el.hidden = false;
    replace(
      list,
      reports.length
        ? [
            h('li', { class: 'muted' }, L('附近已有以下问题在办理，如是同一问题，加入即可，无需重复提交：', 'These reports nearby are open; if yours is the same, join it instead of filing again:')),
            reports.map((r) => {
              let action: HTMLElement;
              if (resident) {
                const join = h('button', { type: 'button', 'data-join': r.number }, L('我也遇到了，加入', 'Me too — join'));
                join.addEventListener('click', async () => {
                  join.disabled = true;
                  try {
                    await post(`/api/v1/cases/${r.id}/join`);
                    showOk(st, L(`已加入案件 ${r.number}，办理进展会通知您。`, `You joined case ${r.number}; you will hear of its progress.`));
                  } catch (e) {
                    showError(st, e);
                    join.disabled = false;
                  }
                });
                action = join;
              } else {
                action = h('a', { href: '#/join' }, L('手机号登录后加入', 'Log in with your phone to join'));
              }
              return h('li', { class: 'card' }, h('h3', null, r.title), h('p', { class: 'muted' }, `${r.number} · ${r.area_name ?? ''} · ${stateName(r.state)} · ${fmtTime(r.created_at, lang())}`), action);
            }),
          ]
        : h('li', { class: 'muted' }, L('附近暂无未办结的问题。', 'No open reports near you.')),
    );
  };
  return { el, show };
}
