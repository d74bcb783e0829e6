// The data officer's console (数据专员): the resource catalogue with search, the sharing requests
// addressed to the officer's department (approve with fewer fields, or refuse with a reason), the
// department's own requests and a form to file one, and who read a resource (its access records).

import { get, post } from '../api';
import { field, fmtTime, h, option, replace, showError, showOk, statusBox } from '../dom';
import { L, lang } from '../i18n';
import type { Ctx } from '../page';

interface FieldSpec {
  name: string;
  type: string;
  meaning: string;
  personal: boolean;
  grade: string;
}
interface Resource {
  code: string;
  name: string;
  description: string;
  owner: string;
  owner_dept_id: number | null;
  sharing_type: string;
  sharing_type_zh: string;
  opening_type: string;
  opening_type_zh: string;
  grade_zh: string;
  update_cycle: string;
  legal_basis: string;
  fields: FieldSpec[];
}
interface SharingRequest {
  id: number;
  resource: string;
  resource_name: string;
  owner_dept_id: number | null;
  requester_dept_id: number;
  requester_dept: string;
  purpose: string;
  fields: string[];
  state: string;
  granted_fields: string[] | null;
  decision_note: string;
  due_at: string;
  reminded: boolean;
  escalated: boolean;
}
interface Access {
  seq: number;
  at: string;
  detail: { consumer_dept?: string; fields?: string[]; rows?: number; purpose?: string };
}
interface Me {
  role: string;
  dept_id: number | null;
}

const STATE_NAMES: Record<string, [string, string]> = {
  pending: ['待答复', 'Pending'],
  approved: ['已同意', 'Approved'],
  refused: ['已拒绝', 'Refused'],
};

function stateName(s: string): string {
  const n = STATE_NAMES[s];
  return n ? L(n[0], n[1]) : s;
}

export async function dataPage(ctx: Ctx): Promise<void> {
  const me = await get<Me>('/api/v1/me', { signal: ctx.signal });
  const status = statusBox();
  const catalogue = h('section', { 'aria-labelledby': 'cat-h' });
  const incoming = h('section', { 'aria-labelledby': 'in-h' });
  const outgoing = h('section', { 'aria-labelledby': 'out-h' });
  const access = h('section', { 'aria-labelledby': 'acc-h' });
  ctx.main.append(
    h('h1', null, L('数据共享与开放', 'Data sharing and open data')),
    h('p', { class: 'muted' }, L('政务信息资源目录、共享申请与答复、访问记录。', 'The resource catalogue, sharing requests and answers, access records.')),
    status,
    catalogue,
    incoming,
    outgoing,
    access,
  );
  let resources: Resource[] = [];

  const search = h('input', { type: 'search', name: 'q', placeholder: L('名称、编码或描述', 'Name, code or description') });
  const showCatalogue = async () => {
    const q = search.value.trim();
    const page = await get<{ total: number; items: Resource[] }>(`/api/v1/data/resources?limit=200${q ? `&q=${encodeURIComponent(q)}` : ''}`, { signal: ctx.signal });
    if (!q) resources = page.items;
    const rows = page.items.map((r) =>
      h(
        'tr',
        null,
        h('td', null, h('code', null, r.code)),
        h('td', null, r.name, h('br'), h('span', { class: 'muted' }, r.description)),
        h('td', null, r.owner),
        h('td', null, r.sharing_type_zh),
        h('td', null, r.opening_type_zh),
        h('td', null, r.grade_zh),
        h('td', null, r.fields.map((f) => `${f.name}${f.personal ? L('（个人）', ' (personal)') : ''}`).join('、')),
      ),
    );
    replace(
      catalogue,
      h('h2', { id: 'cat-h' }, L(`资源目录（${page.total}）`, `Resource catalogue (${page.total})`)),
      h(
        'form',
        {
          class: 'row',
          role: 'search',
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            void showCatalogue().catch((e) => showError(status, e));
          },
        },
        field(L('检索', 'Search'), search),
        h('button', { type: 'submit' }, L('检索', 'Search')),
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'data' },
          h('caption', null, L('资源、共享类型、开放类型与安全级别', 'Resources, sharing and opening types, grades')),
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ...[L('编码', 'Code'), L('名称', 'Name'), L('提供部门', 'Owner'), L('共享类型', 'Sharing'), L('开放类型', 'Opening'), L('安全级别', 'Grade'), L('数据项', 'Fields')].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h('tbody', null, ...rows),
        ),
      ),
    );
  };

  const decide = async (r: SharingRequest, body: Record<string, unknown>) => {
    try {
      const res = await post<{ key: { key: string; expires_at: string } | null }>(`/api/v1/data/requests/${r.id}/decision`, body);
      showOk(
        status,
        res.key
          ? L(`已同意，消费密钥（只显示一次）：${res.key.key}`, `Approved; consumer key (shown once): ${res.key.key}`)
          : L('已拒绝。', 'Refused.'),
      );
      await showRequests();
    } catch (e) {
      showError(status, e);
    }
  };

  const requestRow = (r: SharingRequest, mine: boolean) => {
    const actions: HTMLElement[] = [];
    if (!mine && r.state === 'pending') {
      const boxes = r.fields.map((f) => h('input', { type: 'checkbox', value: f, checked: true, 'aria-label': L(`授权 ${f}`, `Grant ${f}`) }));
      const reason = h('input', { type: 'text', 'aria-label': L('拒绝理由', 'Reason for refusal') });
      actions.push(
        h('div', { class: 'checks' }, ...boxes.map((b, i) => h('label', null, b, ` ${r.fields[i]}`))),
        h('button', { type: 'button', onclick: () => void decide(r, { decision: 'approve', fields: boxes.filter((b) => b.checked).map((b) => b.value) }) }, L('同意', 'Approve')),
        reason,
        h('button', { type: 'button', class: 'ghost', onclick: () => void decide(r, { decision: 'refuse', reason: reason.value }) }, L('拒绝', 'Refuse')),
      );
    }
    const flags = [r.reminded ? L('已提醒', 'reminded') : '', r.escalated ? L('已督办', 'escalated') : ''].filter(Boolean).join(' · ');
    return h(
      'tr',
      null,
      h('td', null, String(r.id)),
      h('td', null, r.resource_name, h('br'), h('code', null, r.resource)),
      h('td', null, mine ? '' : r.requester_dept),
      h('td', null, r.purpose),
      h('td', null, (r.granted_fields ?? r.fields).join('、')),
      h('td', null, stateName(r.state), flags ? h('br') : '', flags),
      h('td', null, fmtTime(r.due_at, lang())),
      h('td', null, ...actions),
    );
  };

  const requestTable = (id: string, title: string, list: SharingRequest[], mine: boolean) =>
    [
      h('h2', { id }, title),
      list.length === 0
        ? h('p', { class: 'muted' }, L('暂无。', 'None.'))
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ...['#', L('资源', 'Resource'), L('申请部门', 'Requester'), L('用途', 'Purpose'), L('数据项', 'Fields'), L('状态', 'State'), L('答复期限', 'Answer by'), L('操作', 'Actions')].map((t) =>
                    h('th', { scope: 'col' }, t),
                  ),
                ),
              ),
              h('tbody', null, ...list.map((r) => requestRow(r, mine))),
            ),
          ),
    ];

  const requestForm = () => {
    const shareable = resources.filter((r) => r.sharing_type !== 'none' && r.owner_dept_id !== me.dept_id);
    const select = h('select', { name: 'resource' }, ...shareable.map((r) => option(r.code, `${r.name}（${r.sharing_type_zh}）`)));
    const fieldsBox = h('fieldset', { class: 'checks' });
    const fillFields = () => {
      const r = shareable.find((x) => x.code === select.value);
      replace(
        fieldsBox,
        h('legend', null, L('申请的数据项', 'Fields asked for')),
        ...(r?.fields ?? []).map((f) => h('label', null, h('input', { type: 'checkbox', name: 'field', value: f.name }), ` ${f.meaning || f.name}${f.personal ? L('（个人信息）', ' (personal)') : ''}`)),
      );
    };
    select.addEventListener('change', fillFields);
    fillFields();
    const purpose = h('input', { type: 'text', name: 'purpose' });
    const period = h('input', { type: 'number', name: 'period', min: '1', max: '366', value: '30' });
    return h(
      'form',
      {
        class: 'stack',
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          try {
            const fields = [...fieldsBox.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value);
            const res = await post<{ key: { key: string } | null }>('/api/v1/data/requests', {
              resource: select.value,
              purpose: purpose.value,
              fields,
              period_days: Number(period.value),
            });
            showOk(status, res.key ? L(`无条件共享，已授权。消费密钥（只显示一次）：${res.key.key}`, `Granted at once. Consumer key (shown once): ${res.key.key}`) : L('已提交，等待提供部门答复。', 'Filed; waiting for the owner.'));
            await showRequests();
          } catch (e) {
            showError(status, e);
          }
        },
      },
      h('h3', null, L('提出共享申请', 'File a sharing request')),
      field(L('资源', 'Resource'), select),
      fieldsBox,
      field(L('用途', 'Purpose'), purpose),
      field(L('期限（天）', 'Period (days)'), period),
      h('button', { type: 'submit' }, L('提交申请', 'Submit')),
    );
  };

  const showRequests = async () => {
    const all = await get<SharingRequest[]>('/api/v1/data/requests', { signal: ctx.signal });
    const theirs = all.filter((r) => r.requester_dept_id !== me.dept_id);
    const mine = me.dept_id === null ? [] : all.filter((r) => r.requester_dept_id === me.dept_id);
    replace(incoming, ...requestTable('in-h', L('待我答复的申请', 'Requests to answer'), theirs, false));
    replace(outgoing, ...requestTable('out-h', L('本部门的申请', 'Our requests'), mine, true), me.dept_id !== null ? requestForm() : '');
  };

  const showAccess = async () => {
    const mineResources = resources.filter((r) => me.role === 'admin' || r.owner_dept_id === me.dept_id);
    const select = h('select', { name: 'resource' }, ...mineResources.map((r) => option(r.code, r.name)));
    const list = h('div');
    const load = async () => {
      const rows = await get<Access[]>(`/api/v1/data/resources/${encodeURIComponent(select.value)}/access-log`, { signal: ctx.signal });
      replace(
        list,
        rows.length === 0
          ? h('p', { class: 'muted' }, L('尚无读取记录。', 'Nobody has read it yet.'))
          : h(
              'ul',
              null,
              ...rows.map((a) =>
                h('li', null, `${fmtTime(a.at, lang())} · ${a.detail.consumer_dept ?? ''} · ${(a.detail.fields ?? []).join('、')} · ${a.detail.rows ?? 0} ${L('行', 'rows')} · ${a.detail.purpose ?? ''}`),
              ),
            ),
      );
    };
    select.addEventListener('change', () => void load().catch((e) => showError(status, e)));
    replace(access, h('h2', { id: 'acc-h' }, L('谁读取了我的数据', 'Who read our data')), field(L('资源', 'Resource'), select), list);
    if (mineResources.length > 0) await load();
  };

  await showCatalogue();
  await showRequests();
  await showAccess();
}
