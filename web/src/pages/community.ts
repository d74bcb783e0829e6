// Community deliberation (协商议事): proposals of a community with their supports and outcome
// (public); verified residents propose, support (once each) and comment; an accepted proposal
// shows the case it opened and that case's state.

import { get, me, post, qs, type Area } from '../api';
import { fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang, stateName } from '../i18n';
import type { Ctx } from '../page';

interface Comment {
  id: number;
  author: string;
  body: string;
  created_at: string;
}

interface Proposal {
  id: number;
  community_id: number;
  title: string;
  body: string;
  state: string;
  supports: number;
  threshold: number;
  outcome_reason: string | null;
  case_number: string | null;
  case_state: string | null;
  created_at: string;
  comments: Comment[];
}

const STATES: Record<string, [string, string]> = {
  open: ['征集支持中', 'Collecting support'],
  agenda: ['已列入议事会议程', 'On the meeting agenda'],
  accepted: ['已通过，转为案件办理', 'Accepted — being handled as a case'],
  rejected: ['未通过', 'Not accepted'],
};

function proposalCard(p: Proposal, resident: boolean, reload: () => void): HTMLElement {
  const st = statusBox();
  const state = STATES[p.state];
  const card = h(
    'article',
    { class: 'card', 'data-proposal': p.id, 'aria-labelledby': `p-${p.id}` },
    h('h3', { id: `p-${p.id}` }, p.title),
    h('p', null, p.body),
    h('p', null, h('strong', null, state ? L(state[0], state[1]) : p.state), ` · ${L('支持', 'supports')} ${p.supports}/${p.threshold} · ${fmtTime(p.created_at, lang())}`),
    p.outcome_reason ? h('p', null, L('议事结果：', 'Outcome: '), p.outcome_reason) : null,
    p.case_number ? h('p', null, L('办理案件：', 'Case: '), `${p.case_number} · ${stateName(p.case_state ?? '')}`) : null,
  );
  if (resident && (p.state === 'open' || p.state === 'agenda')) {
    const support = h('button', { type: 'button', class: 'primary' }, L('支持', 'Support'));
    support.addEventListener('click', async () => {
      support.disabled = true;
      try {
        await post(`/api/v1/proposals/${p.id}/support`);
        reload();
      } catch (e) {
        showError(st, e);
        support.disabled = false;
      }
    });
    card.append(support);
  }
  const comments = h('div', { class: 'comments' });
  const show = h('button', { type: 'button', class: 'ghost', 'aria-expanded': 'false' }, L('评论', 'Comments'));
  show.addEventListener('click', async () => {
    const full = await get<Proposal>(`/api/v1/proposals/${p.id}`);
    show.setAttribute('aria-expanded', 'true');
    const box = h('textarea', { id: `c-${p.id}`, maxlength: '1000', rows: '2' });
    const send = h('button', { type: 'button' }, L('发表评论', 'Post'));
    send.addEventListener('click', async () => {
      if (!box.value.trim()) return;
      try {
        await post(`/api/v1/proposals/${p.id}/comments`, { body: box.value.trim() });
        showOk(st, L('已发表。', 'Posted.'));
        box.value = '';
        show.click();
      } catch (e) {
        showError(st, e);
      }
    });
    replace(
      comments,
      h('ul', { class: 'plain' }, full.comments.map((c) => h('li', null, `${c.author}：${c.body}`))),
      me() ? [h('label', { for: `c-${p.id}` }, L('您的意见', 'Your comment')), box, send] : null,
    );
  });
  card.append(show, comments, st);
  return card;
}

interface Poll {
  id: number;
  title: string;
  question: string;
  options: string[];
  allow_text: boolean;
  min_cell: number;
  opens_at: string;
  closes_at: string;
}

interface PollResults {
  counts: { option: string; count: number | null }[];
  free_text: number | null;
  total: number | null;
}

function pollCard(p: Poll, resident: boolean): HTMLElement {
  const st = statusBox();
  const closed = Date.parse(p.closes_at) <= Date.now();
  const card = h(
    'article',
    { class: 'card', 'data-poll': p.id, 'aria-labelledby': `poll-${p.id}` },
    h('h3', { id: `poll-${p.id}` }, p.title),
    h('p', null, p.question),
    h('p', { class: 'muted' }, L(`截止 ${fmtTime(p.closes_at, lang())}`, `Closes ${fmtTime(p.closes_at, lang())}`)),
  );
  if (closed) {
    const show = h('button', { type: 'button' }, L('查看结果', 'Results'));
    const out = h('ul', { class: 'plain' });
    show.addEventListener('click', async () => {
      try {
        const r = await get<PollResults>(`/api/v1/polls/${p.id}/results`);
        const few = L(`少于 ${p.min_cell}，不公布`, `fewer than ${p.min_cell}, not shown`);
        replace(out, r.counts.map((c) => h('li', null, `${c.option}：${c.count ?? few}`)), h('li', null, L('合计：', 'Total: '), String(r.total ?? few)));
      } catch (e) {
        showError(st, e);
      }
    });
    card.append(show, out, st);
    return card;
  }
  if (!resident) return card;
  const name = `poll-opt-${p.id}`;
  const choices = p.options.map((o, i) => {
    const id = `${name}-${i}`;
    return h('div', { class: 'field check' }, h('input', { type: 'radio', name, id, value: i }), h('label', { for: id }, o));
  });
  const text = p.allow_text ? h('textarea', { id: `poll-text-${p.id}`, maxlength: '1000', rows: '2' }) : null;
  const send = h('button', { type: 'button', class: 'primary' }, L('提交意见', 'Send'));
  send.addEventListener('click', async () => {
    const picked = card.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`);
    const body: Record<string, unknown> = {};
    if (picked) body.option = Number(picked.value);
    if (text?.value.trim()) body.text = text.value.trim();
    try {
      await post(`/api/v1/polls/${p.id}/answers`, body);
      showOk(st, L('感谢您的意见。', 'Thank you.'));
      send.disabled = true;
    } catch (e) {
      showError(st, e);
    }
  });
  card.append(
    h('fieldset', null, h('legend', null, L('您的选择', 'Your choice')), choices),
    text ? h('div', { class: 'field' }, h('label', { for: text.id }, L('其他意见（可选）', 'Other comments (optional)')), text) : '',
    send,
    st,
  );
  return card;
}

export async function communityPage(ctx: Ctx): Promise<void> {
  const user = me();
  const resident = user?.role === 'resident';
  const list = h('div', { id: 'proposals', 'aria-live': 'polite' });
  const polls = h('div', { id: 'polls' });
  const areas = user ? await get<Area[]>('/api/v1/areas', { signal: ctx.signal }).catch(() => [] as Area[]) : [];
  const communities = areas.filter((a) => a.level === 'community');
  const pick = h('select', { id: 'community' }, h('option', { value: '' }, L('全部社区', 'All communities')), communities.map((a) => h('option', { value: a.id }, a.name)));
  const load = async () => {
    const rows = await get<Proposal[]>(`/api/v1/proposals${qs({ community_id: pick.value })}`, { signal: ctx.signal });
    replace(list, rows.length ? rows.map((p) => proposalCard(p, resident, () => void load())) : h('p', { class: 'muted' }, L('还没有议题。', 'No proposals yet.')));
  };
  pick.addEventListener('change', () => void load());
  const form = (() => {
    if (!resident) return h('p', { class: 'muted' }, h('a', { href: '#/join' }, L('用手机号登录', 'Log in with your phone')), L('后可以发起议题、支持和评论。', ' to propose, support and comment.'));
    const title = h('input', { id: 'p-title', maxlength: '100', required: true });
    const body = h('textarea', { id: 'p-body', maxlength: '2000', rows: '3', required: true });
    const st = statusBox();
    const submit = h('button', { type: 'submit', class: 'primary' }, L('发起议题', 'Propose'));
    const f = h(
      'form',
      { class: 'card', 'aria-labelledby': 'p-new' },
      h('h2', { id: 'p-new' }, L('发起议题', 'New proposal')),
      h('p', { class: 'muted' }, L('请先在上方选择您的社区。', 'Choose your community above first.')),
      h('div', { class: 'field' }, h('label', { for: 'p-title' }, L('标题', 'Title')), title),
      h('div', { class: 'field' }, h('label', { for: 'p-body' }, L('内容', 'Details')), body),
      submit,
      st,
    );
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!pick.value) return showError(st, L('请选择社区。', 'Choose a community.'));
      try {
        await post('/api/v1/proposals', { community_id: Number(pick.value), title: title.value.trim(), body: body.value.trim() });
        showOk(st, L('议题已发布。', 'Proposal posted.'));
        title.value = body.value = '';
        await load();
      } catch (e) {
        showError(st, e);
      }
    });
    return f;
  })();
  ctx.main.append(
    h('h1', null, L('社区协商议事', 'Community deliberation')),
    h('div', null,
    h('p', { class: 'muted' }, L('居民提出议题，获得足够支持后列入社区议事会议程；结果公开，通过的议题转为案件跟踪办理。', 'Residents propose; with enough support a proposal goes on the community meeting’s agenda. Outcomes are public, and accepted proposals are tracked as cases.')),
    communities.length ? h('div', { class: 'field' }, h('label', { for: 'community' }, L('社区', 'Community')), pick) : null),
    form,
    list,
    h('h2', null, L('征集意见', 'Have your say')),
    polls,
  );
  await load();
  const rows = await get<Poll[]>('/api/v1/polls', { signal: ctx.signal });
  replace(polls, rows.length ? rows.map((p) => pollCard(p, resident)) : h('p', { class: 'muted' }, L('暂无征集。', 'No open questions.')));
}
