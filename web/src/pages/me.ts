// A resident's own page (我的): every case they filed with its state and a one-tap rating when
// it is closed, open reports already filed near them (join one instead of filing a duplicate),
// their notification channels with opt-out, and the messages sent to them.

import { act, get, call, type Area, type Case } from '../api';
import { nearbyPanel } from './nearby';
import { followupButtons } from './casepage';
import { fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang, satisfactionName, stateName } from '../i18n';
import type { Ctx } from '../page';

interface Profile {
  phone: string | null;
  opted_out: boolean;
  channels: { channel: string; address: string }[];
}

interface Message {
  id: number;
  channel: string;
  kind: string;
  body: string;
  state: string;
  created_at: string;
}

function myCases(cases: Case[], answered: Set<number>, signal: AbortSignal): HTMLElement {
  if (!cases.length) return h('p', { class: 'muted' }, L('您还没有反映过问题。', 'You have not reported anything yet.'));
  return h(
    'ul',
    { class: 'plain' },
    cases.map((c) => {
      const steps = h('ol', { class: 'timeline' });
      const trail = h('details', null, h('summary', null, L('办理过程', 'Progress')), steps);
      trail.addEventListener('toggle', async () => {
        if (!trail.open || steps.childElementCount) return;
        try {
          const t = await get<{ reply: string | null; steps: { at: string; summary: string }[] }>(`/api/v1/public/cases/${encodeURIComponent(c.number)}/timeline`, { signal });
          replace(steps, t.steps.map((s) => h('li', null, `${fmtTime(s.at, lang())} ${s.summary}`)), t.reply ? h('li', null, L('答复：', 'Reply: '), t.reply) : null);
        } catch {
          replace(steps, h('li', null, L('暂时无法加载。', 'Could not load.')));
        }
      });
      const item = h('li', { class: 'card', 'data-case': c.number }, h('h3', null, `${c.number} · ${c.title || c.text.slice(0, 30)}`), h('p', null, L('状态：', 'State: '), stateName(c.state)), trail);
      if (c.state === 'closed') {
        const st = statusBox();
        const buttons = ['satisfied', 'basically_satisfied', 'dissatisfied'].map((s) => {
          const b = h('button', { type: 'button', class: s === 'satisfied' ? 'primary' : undefined, 'data-rate': s }, satisfactionName(s));
          b.addEventListener('click', async () => {
            for (const x of buttons) x.disabled = true;
            try {
              await act(c.id, { action: 'rate', satisfaction: s, resolved: s !== 'dissatisfied', comment: '' });
              showOk(st, L('感谢您的评价。', 'Thank you for rating.'));
            } catch (e) {
              if (!signal.aborted) showError(st, e);
              for (const x of buttons) x.disabled = false;
            }
          });
          return b;
        });
        item.append(h('div', { class: 'actions', role: 'group', 'aria-label': L(`评价案件 ${c.number}`, `Rate case ${c.number}`) }, buttons), st);
      }
      // "Was it fixed?" asks once per closed case, rated or not.
      if ((c.state === 'closed' || c.state === 'evaluated') && !answered.has(c.id)) item.append(followupButtons(c.id, c.number));
      else if (answered.has(c.id)) item.append(h('p', { class: 'muted' }, L('您已回答是否解决。', 'You answered whether it was fixed.')));
      return item;
    }),
  );
}

function nearby(areas: Area[], signal: AbortSignal): HTMLElement {
  const grids = areas.filter((a) => a.level === 'grid' || a.level === 'community');
  const select = h('select', { id: 'near-area' }, h('option', { value: '' }, L('（选择您所在的网格）', '(choose where you are)')), grids.map((a) => h('option', { value: a.id }, a.name)));
  const panel = nearbyPanel(signal);
  const st = statusBox();
  select.addEventListener('change', () => void panel.show(select.value));
  const locate = h('button', { type: 'button' }, L('使用我的位置', 'Use my location'));
  locate.addEventListener('click', () => {
    if (!navigator.geolocation) return showError(st, L('浏览器不支持定位。', 'This browser cannot locate you.'));
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        let best: Area | null = null;
        let bestD = Infinity;
        for (const a of grids) {
          if (a.center_lat == null || a.center_lon == null) continue;
          const d = (a.center_lat - pos.coords.latitude) ** 2 + (a.center_lon - pos.coords.longitude) ** 2;
          if (d < bestD) [best, bestD] = [a, d];
        }
        if (best) {
          select.value = String(best.id);
          void panel.show(select.value);
        }
      },
      () => showError(st, L('无法获取位置，请手动选择。', 'Could not locate you; choose by hand.')),
    );
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'near-title' },
    h('h2', { id: 'near-title' }, L('附近已有的问题', 'Already reported near you')),
    h('p', { class: 'muted' }, L('同一个问题已有人反映时，加入该案件即可，无需重复提交。', 'If your problem is already reported, join that case instead of filing it again.')),
    h('div', { class: 'field' }, h('label', { for: 'near-area' }, L('位置', 'Place')), select),
    locate,
    st,
    panel.el,
  );
}

function settings(profile: Profile): HTMLElement {
  const st = statusBox();
  const has = (c: string) => profile.channels.find((x) => x.channel === c);
  const sms = h('input', { type: 'checkbox', id: 'ch-sms', checked: Boolean(has('sms')) });
  const email = h('input', { type: 'email', id: 'ch-email', maxlength: '254', value: has('email')?.address ?? '' });
  const wechat = h('input', { id: 'ch-wechat', maxlength: '64', value: has('wechat')?.address ?? '' });
  const optOut = h('input', { type: 'checkbox', id: 'ch-optout', checked: profile.opted_out });
  const save = h('button', { type: 'button', class: 'primary', id: 'ch-save' }, L('保存', 'Save'));
  save.addEventListener('click', async () => {
    const channels: { channel: string; address: string }[] = [];
    if (sms.checked && profile.phone) channels.push({ channel: 'sms', address: profile.phone });
    if (email.value.trim()) channels.push({ channel: 'email', address: email.value.trim() });
    if (wechat.value.trim()) channels.push({ channel: 'wechat', address: wechat.value.trim() });
    try {
      await call('PUT', '/api/v1/me/profile', { body: { opted_out: optOut.checked, channels } });
      showOk(st, L('已保存。', 'Saved.'));
    } catch (e) {
      showError(st, e);
    }
  });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'ch-title' },
    h('h2', { id: 'ch-title' }, L('通知方式', 'How we tell you')),
    profile.phone ? null : h('p', { class: 'muted' }, L('用手机号验证码登录后，才能接收短信等通知。', 'Log in with a phone code to receive messages outside the app.')),
    h('div', { class: 'field check' }, sms, h('label', { for: 'ch-sms' }, L('短信', 'SMS'), profile.phone ? ` (${profile.phone.slice(0, 3)}****${profile.phone.slice(7)})` : '')),
    h('div', { class: 'field' }, h('label', { for: 'ch-email' }, L('电子邮件', 'E-mail')), email),
    h('div', { class: 'field' }, h('label', { for: 'ch-wechat' }, L('微信（OpenID）', 'WeChat (OpenID)')), wechat),
    h('div', { class: 'field check' }, optOut, h('label', { for: 'ch-optout' }, L('不接收任何通知', 'Send me nothing'))),
    save,
    st,
  );
}

function messages(rows: Message[]): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'msg-title' },
    h('h2', { id: 'msg-title' }, L('发给我的消息', 'Messages to me')),
    rows.length
      ? h('ul', { class: 'plain', id: 'msg-list' }, rows.map((m) => h('li', null, `${fmtTime(m.created_at, lang())} · ${m.body}`)))
      : h('p', { class: 'muted' }, L('暂无消息。', 'No messages yet.')),
  );
}

export async function mePage(ctx: Ctx): Promise<void> {
  const [cases, areas, profile, outbox, followups] = await Promise.all([
    get<Case[] | { items: Case[] }>('/api/v1/cases', { signal: ctx.signal }),
    get<Area[]>('/api/v1/areas', { signal: ctx.signal }),
    get<Profile>('/api/v1/me/profile', { signal: ctx.signal }),
    get<Message[]>('/api/v1/notify/outbox', { signal: ctx.signal }),
    get<{ case_id: number }[]>('/api/v1/me/followups', { signal: ctx.signal }).catch(() => []),
  ]);
  const answered = new Set(followups.map((f) => f.case_id));
  const list = Array.isArray(cases) ? cases : cases.items;
  ctx.main.append(
    h('h1', null, L('我的', 'My page')),
    h('p', null, h('a', { href: '#/portal', class: 'button' }, L('反映新问题', 'Report a problem')), ' ', h('a', { href: '#/community' }, L('社区议事', 'Community')), ' ', h('a', { href: '#/map' }, L('附近的问题地图', 'Map of reports near you'))),
    h('section', { class: 'card', 'aria-labelledby': 'mine-title' }, h('h2', { id: 'mine-title' }, L('我的诉求', 'My reports')), myCases(list, answered, ctx.signal)),
    nearby(areas, ctx.signal),
    settings(profile),
    messages(outbox),
  );
}
