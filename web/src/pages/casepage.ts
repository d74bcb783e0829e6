// A case's public page (#/case?n=NUMBER, no login): what was reported (masked), where it stands,
// the official reply and the dated steps in plain words, with the residents' "was it fixed?"
// answers. A resident joins an open case from here, and the reporter or a follower of a closed
// case answers 已解决 / 未解决 once.

import { ApiError, get, me, post } from '../api';
import { fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang, stateName } from '../i18n';
import type { Ctx } from '../page';
import { joinButton } from './nearby';

export interface Timeline {
  id: number;
  number: string;
  title: string;
  category_name: string | null;
  state: string;
  status: string;
  reply: string | null;
  rating: string | null;
  steps: { at: string; status: string; summary: string }[];
  followup: { fixed: number; not_fixed: number; reporter_not_fixed: boolean };
}

/** The two answers to "was it fixed?" for one closed case; `onDone` runs after a recorded answer. */
export function followupButtons(caseId: number, number: string, onDone?: () => void): HTMLElement {
  const st = statusBox();
  const ask = (fixed: boolean) => {
    const b = h('button', { type: 'button', class: fixed ? 'primary' : undefined, 'data-followup': fixed ? 'fixed' : 'not_fixed' }, fixed ? L('已解决', 'Fixed') : L('未解决', 'Not fixed'));
    b.addEventListener('click', async () => {
      for (const x of buttons) x.disabled = true;
      try {
        const res = await post<{ fixed: boolean; flagged: boolean }>(`/api/v1/cases/${caseId}/followup`, { fixed });
        showOk(
          st,
          res.flagged
            ? L('已记录：问题未解决。值班长会复核，决定是否重新办理，结果会通知您。', 'Recorded: not fixed. The shift lead will review it and decide whether to reopen the case; you will be told.')
            : L('感谢您的回访答复。', 'Thank you for your answer.'),
        );
        onDone?.();
      } catch (e) {
        if (e instanceof ApiError && e.code === 'followup_answered') showOk(st, L('您已回答过这个问题。', 'You already answered.'));
        else {
          showError(st, e);
          for (const x of buttons) x.disabled = false;
        }
      }
    });
    return b;
  };
  const buttons = [ask(true), ask(false)];
  return h(
    'div',
    { class: 'followup' },
    h('p', { id: `fu-q-${caseId}` }, L(`案件 ${number} 已办结。问题真的解决了吗？`, `Case ${number} is closed. Was the problem really fixed?`)),
    h('div', { class: 'actions', role: 'group', 'aria-labelledby': `fu-q-${caseId}` }, buttons),
    st,
  );
}

export async function casePage(ctx: Ctx): Promise<void> {
  const number = (ctx.params.get('n') ?? '').trim().slice(0, 64);
  const heading = h('h1', null, L('案件公开页', 'Case page'));
  ctx.main.append(heading);
  if (!number) {
    ctx.main.append(h('p', null, L('请从', 'Open a case from the '), h('a', { href: '#/map' }, L('问题地图', 'map of reports')), L('打开案件。', '.')));
    return;
  }
  const t = await get<Timeline>(`/api/v1/public/cases/${encodeURIComponent(number)}/timeline`, { signal: ctx.signal, anonymous: true });
  replace(heading, L(`案件 ${t.number}`, `Case ${t.number}`));
  const user = me();
  const resident = user?.role === 'resident';
  const action = h('div', { id: 'case-action' });
  if (t.status === 'open') {
    if (resident) {
      const st = statusBox();
      replace(action, joinButton(t.id, t.number, st, true), st);
    } else if (!user) {
      replace(action, h('a', { href: '#/join' }, L('同样遇到这个问题？手机号登录后加入', 'Same problem? Log in with your phone to join')));
    }
  } else if (resident && t.state !== 'voided') {
    // Only the reporter and followers may answer; anyone else gets a 404, shown as an error.
    replace(action, followupButtons(t.id, t.number));
  }
  const fu = t.followup;
  ctx.main.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'case-what' },
      h('h2', { id: 'case-what' }, t.title || t.number),
      h('p', null, [t.category_name, L(`状态：${stateName(t.state)}`, `State: ${stateName(t.state)}`)].filter(Boolean).join(' · ')),
      t.reply ? h('p', null, h('strong', null, L('答复：', 'Reply: ')), t.reply) : null,
      fu.fixed + fu.not_fixed > 0
        ? h('p', { id: 'case-followup' }, L(`居民回访：${fu.fixed} 人表示已解决，${fu.not_fixed} 人表示未解决。`, `Follow-up: ${fu.fixed} resident(s) say fixed, ${fu.not_fixed} say not fixed.`), fu.reporter_not_fixed ? L('反映人表示未解决，已转值班长复核。', ' The reporter says it is not fixed; the shift lead reviews it.') : '')
        : null,
      action,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'case-steps' },
      h('h2', { id: 'case-steps' }, L('办理过程', 'Progress')),
      h('ol', { class: 'timeline', id: 'case-timeline' }, t.steps.map((s) => h('li', { 'data-status': s.status }, h('time', { datetime: s.at }, fmtTime(s.at, lang())), ' ', s.summary))),
    ),
    h('p', null, h('a', { href: '#/map' }, L('返回问题地图', 'Back to the map of reports'))),
  );
}
