// Co-handling (协办) in the browser: supporting departments' sub-tasks and the lead's view of them
// on the workbench, the dispute (推诿) form beside the return, the partner's pool, the arbiter's
// queue with rulings and the draft list (#/arbiter), and the public responsibility list
// (#/responsibility, no login).

import { errorText } from '../errors';
import { LIMITS, get, me, post, uploadPhotos, type Case } from '../api';
import { field, fmtTime, h, option, replace, showError, showOk, statusBox } from '../dom';
import { L, lang } from '../i18n';
import { ready, type Ctx } from '../page';
import { byId, loadCategories, loadDepts } from '../ref';

interface Subtask {
  id: number;
  case_id: number;
  dept_id: number;
  state: string;
  active: boolean;
  due_at: string | null;
  note: string;
  on_time: boolean | null;
  overdue: boolean;
}
interface SubtaskItem {
  id: number;
  case_id: number;
  dept_id: number;
  state: string;
  due_at: string | null;
  overdue: boolean;
  case_number: string;
  case_title: string;
  case_state: string;
}
interface Dispute {
  id: number;
  case_id: number;
  dept_id: number;
  category_id: number | null;
  rule_id: number;
  reason: string;
  state: string;
  opened_at: string;
  due_at: string;
  escalated: boolean;
  lead_dept_id: number | null;
  supporting_dept_ids: number[];
  ruling: string;
  on_time: boolean | null;
  draft_version_id: number | null;
}
interface Rule {
  id: number;
  category_id: number;
  area_id: number;
  lead_dept_id: number;
  supporting_dept_ids: number[];
  legal_basis: string;
}
interface PublicRule {
  category_code: string;
  category_name: string;
  area_code: string;
  area_name: string;
  lead: string;
  supporting: string[];
  legal_basis: string;
}

const SUBTASK_STATES: Record<string, [string, string]> = {
  dispatched: ['待签收', 'To accept'],
  handling: ['协办中', 'Handling'],
  done: ['已反馈', 'Done'],
  released: ['已解除', 'Released'],
  cancelled: ['已取消', 'Cancelled'],
};

const subtaskState = (s: string): string => {
  const t = SUBTASK_STATES[s];
  return t ? L(t[0], t[1]) : s;
};

/** The sub-tasks of a case the lead works on, with a release form for open ones. */
export function subtaskSummary(c: Case, canRelease: boolean, reload: () => Promise<void>): HTMLElement {
  const box = h('div', { class: 'subtasks', 'data-testid': 'case-subtasks' });
  void (async () => {
    const [tasks, depts] = await Promise.all([get<Subtask[]>(`/api/v1/cases/${c.id}/subtasks`), loadDepts()]);
    const current = tasks.filter((t) => t.active);
    if (!current.length) return;
    const deptMap = byId(depts);
    const st = statusBox();
    box.append(
      h('h4', null, L('协办部门', 'Supporting departments')),
      h(
        'ul',
        null,
        ...current.map((t) => {
          const li = h('li', { 'data-subtask': String(t.id) }, `${deptMap.get(t.dept_id)?.name ?? `#${t.dept_id}`}：${subtaskState(t.state)}`, t.note ? h('span', { class: 'muted' }, ` — ${t.note}`) : null);
          if (canRelease && (t.state === 'dispatched' || t.state === 'handling')) {
            const reason = h('input', { type: 'text', maxlength: String(LIMITS.note), id: `rel-${t.id}` });
            const btn = h('button', { type: 'button' }, L('解除协办', 'Release'));
            btn.addEventListener('click', () => {
              if (!reason.value.trim()) return showError(st, L('请填写解除原因。', 'Give the reason.'));
              void post(`/api/v1/subtasks/${t.id}/release`, { reason: reason.value.trim() })
                .then(() => reload())
                .catch((e) => showError(st, e));
            });
            li.append(h('details', null, h('summary', null, L('解除…', 'Release…')), field(L('原因（必填）', 'Reason (required)'), reason), btn));
          }
          return li;
        }),
      ),
      current.some((t) => t.state === 'dispatched' || t.state === 'handling')
        ? h('p', { class: 'status warn' }, L('协办部门反馈或解除后，才能提交本案反馈。', 'Feedback waits until the supporting departments are done or released.'))
        : '',
      st,
    );
  })().catch(() => undefined);
  return box;
}

/** The dispute form offered beside the return: the reason and the list entry relied on. */
export function disputeDetails(c: Case, reload: () => Promise<void>): HTMLElement {
  const st = statusBox();
  const reason = h('textarea', { rows: '2', maxlength: String(LIMITS.note), id: `dsp-reason-${c.id}` });
  const rule = h('select', { id: `dsp-rule-${c.id}` });
  const btn = h('button', { type: 'button', class: 'danger' }, L('提交争议', 'Open dispute'));
  const details = h(
    'details',
    { class: 'dispute-details' },
    h('summary', null, L('对职责有异议？提交争议（推诿仲裁）…', 'Dispute the responsibility…')),
    field(L('争议理由（必填）', 'Reason (required)'), reason),
    field(L('所依据的权责清单条目', 'The list entry you rely on'), rule),
    btn,
    st,
  );
  details.addEventListener(
    'toggle',
    () => {
      void Promise.all([get<Rule[]>('/api/v1/responsibility/rules'), loadCategories(), loadDepts()]).then(([rules, cats, depts]) => {
        const catMap = byId(cats);
        const deptMap = byId(depts);
        replace(
          rule,
          ...rules
            .filter((r) => r.category_id === c.category_id || catMap.get(c.category_id ?? 0)?.parent_id === r.category_id)
            .concat(rules.filter((r) => r.category_id !== c.category_id))
            .slice(0, 200)
            .map((r) => option(r.id, `#${r.id} ${catMap.get(r.category_id)?.name ?? ''} → ${deptMap.get(r.lead_dept_id)?.name ?? ''}`)),
        );
      });
    },
    { once: true },
  );
  btn.addEventListener('click', () => {
    if (!reason.value.trim()) return showError(st, L('请填写争议理由。', 'Give the reason.'));
    if (!rule.value) return showError(st, L('请选择清单条目。', 'Choose the list entry.'));
    void post(`/api/v1/cases/${c.id}/disputes`, { reason: reason.value.trim(), rule_id: Number(rule.value) })
      .then(async () => {
        showOk(st, L('争议已提交，等待指挥中心裁定', 'Dispute opened; waiting for the ruling'));
        await reload();
      })
      .catch((e) => showError(st, e));
  });
  return details;
}

/** The workbench's co-handling sections: my sub-tasks, my disputes and (partners) the pool. */
export async function cohandleSections(ctx: Ctx): Promise<void> {
  const user = me()!;
  const depts = await loadDepts();
  const deptMap = byId(depts);
  const tasks = h('div', { class: 'tasks' });
  const disputes = h('div');
  const pool = h('div', { class: 'tasks' });
  const load = async (): Promise<void> => {
    const rows = await get<SubtaskItem[]>('/api/v1/subtasks?state=dispatched,handling', { signal: ctx.signal });
    replace(tasks, rows.length ? rows.map((t) => subtaskCard(t)) : h('p', { class: 'muted' }, L('暂无协办任务。', 'No supporting tasks.')));
    const ds = await get<Dispute[]>('/api/v1/disputes', { signal: ctx.signal });
    replace(
      disputes,
      ds.length
        ? h('ul', null, ...ds.map((d) => h('li', null, `#${d.id} ${L('案件', 'case')} ${d.case_id}：${d.state === 'open' ? L('待裁定', 'open') : L('已裁定', 'ruled')} — ${d.reason}`, d.lead_dept_id ? ` → ${deptMap.get(d.lead_dept_id)?.name ?? ''}` : '')))
        : h('p', { class: 'muted' }, L('暂无争议。', 'No disputes.')),
    );
    if (user.role === 'partner') {
      const cases = await get<Case[]>('/api/v1/pool', { signal: ctx.signal });
      replace(pool, cases.length ? cases.map((c) => poolCard(c)) : h('p', { class: 'muted' }, L('暂无可认领的任务。', 'Nothing to claim.')));
    }
  };
  const subtaskCard = (t: SubtaskItem): HTMLElement => {
    const st = statusBox();
    const actions = h('div', { class: 'action-area' });
    const run = (p: Promise<unknown>, msg: string) =>
      void p
        .then(async () => {
          showOk(st, msg);
          await load();
        })
        .catch((e) => showError(st, e));
    if (t.state === 'dispatched') {
      actions.append(h('button', { type: 'button', class: 'primary', onclick: () => run(post(`/api/v1/subtasks/${t.id}/accept`, {}), L('已签收', 'Accepted')) }, L('签收协办', 'Accept (签收)')));
    }
    if (t.state === 'handling') {
      const note = h('textarea', { rows: '3', maxlength: String(LIMITS.note), id: `sub-note-${t.id}` });
      const photos = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true, id: `sub-photos-${t.id}` });
      const btn = h('button', { type: 'submit', class: 'primary' }, L('提交协办反馈', 'Send feedback'));
      const form = h('form', { class: 'subtask-feedback' }, field(L('协办情况（必填）', 'What was done (required)'), note), field(L('照片（可选）', 'Photos (optional)'), photos), btn);
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!note.value.trim()) return showError(st, L('请填写协办情况。', 'Describe what was done.'));
        run(
          (async () => {
            const files = [...(photos.files ?? [])];
            if (files.length) {
              const up = await uploadPhotos(t.case_id, 'feedback', files);
              if (up.errors.length) throw new Error(up.errors.join('; '));
            }
            await post(`/api/v1/subtasks/${t.id}/feedback`, { note: note.value.trim() });
          })(),
          L('协办已反馈', 'Fed back'),
        );
      });
      actions.append(form);
    }
    return h(
      'article',
      { class: `task card ${t.overdue ? 'is-overdue' : ''}`, 'data-subtask': String(t.id), 'data-number': t.case_number },
      h('h3', null, h('span', { class: 'num' }, t.case_number), ' ', h('span', { class: 'badge' }, subtaskState(t.state))),
      h('p', { class: 'case-title' }, t.case_title),
      h('p', null, L('时限：', 'Due: '), t.due_at ? fmtTime(t.due_at, lang()) : '—', t.overdue ? h('span', { class: 'overdue' }, L('（已超期）', ' (overdue)')) : null),
      actions,
      st,
    );
  };
  const poolCard = (c: Case): HTMLElement => {
    const st = statusBox();
    const btn = h('button', { type: 'button', class: 'primary' }, L('认领', 'Claim'));
    btn.addEventListener('click', () => {
      void post(`/api/v1/pool/${c.id}/claim`, {})
        .then(async () => {
          showOk(st, L('已认领', 'Claimed'));
          await load();
        })
        .catch((e) => showError(st, e));
    });
    return h('article', { class: 'task card', 'data-pool': String(c.id) }, h('h3', null, h('span', { class: 'num' }, c.number)), h('p', { class: 'case-title' }, c.title), h('p', null, c.address), btn, st);
  };
  ctx.main.append(
    h('section', { 'aria-labelledby': 'wb-sub' }, h('h2', { id: 'wb-sub' }, L('协办任务', 'Supporting tasks')), tasks),
    h('section', { 'aria-labelledby': 'wb-dsp' }, h('h2', { id: 'wb-dsp' }, L('职责争议', 'Disputes')), disputes),
  );
  if (user.role === 'partner') ctx.main.append(h('section', { 'aria-labelledby': 'wb-pool' }, h('h2', { id: 'wb-pool' }, L('待认领任务', 'Tasks to claim')), pool));
  await load().catch((e) => replace(tasks, h('p', { class: 'status error', role: 'alert' }, errorText(e))));
}

/** The arbiter's queue (#/arbiter): disputes by deadline, the ruling form, the draft list. */
export async function arbiterPage(ctx: Ctx): Promise<void> {
  const user = me()!;
  const [depts, cats] = await Promise.all([loadDepts(), loadCategories()]);
  const deptMap = byId(depts);
  const catMap = byId(cats);
  const queue = h('div');
  const draftBox = h('div');
  ctx.main.append(
    h('h1', null, L('争议仲裁', 'Dispute arbitration')),
    h('p', { class: 'lead' }, L('部门对职责有异议时在此裁定：裁定即改派，并写入权责清单修订草案，由清单管理员审核发布。', 'Rule on responsibility disputes: a ruling re-dispatches the case and drafts an amendment of the list, which its owner reviews and publishes.')),
    h('section', { 'aria-labelledby': 'arb-q' }, h('h2', { id: 'arb-q' }, L('待裁定', 'Open disputes')), queue),
    h('section', { 'aria-labelledby': 'arb-d' }, h('h2', { id: 'arb-d' }, L('清单修订草案', 'Draft list amendment')), draftBox),
  );
  const load = async (): Promise<void> => {
    const ds = await get<Dispute[]>('/api/v1/disputes?state=open', { signal: ctx.signal });
    replace(queue, ds.length ? ds.map((d) => disputeCard(d)) : h('p', { class: 'muted' }, L('暂无待裁定的争议。', 'No open disputes.')));
    const res = await fetchDraft();
    if (!res) {
      replace(draftBox, h('p', { class: 'muted' }, L('暂无草案。', 'No draft.')));
      return;
    }
    const st = statusBox();
    const table = h(
      'table',
      null,
      h('thead', null, h('tr', null, h('th', null, L('类别', 'Category')), h('th', null, L('主办', 'Lead')), h('th', null, L('协办', 'Supporting')), h('th', null, L('依据', 'Basis')))),
      h('tbody', null, ...res.rules.map((r) => h('tr', null, h('td', null, catMap.get(r.category_id)?.name ?? ''), h('td', null, deptMap.get(r.lead_dept_id)?.name ?? ''), h('td', null, r.supporting_dept_ids.map((d) => deptMap.get(d)?.name ?? '').join('、') || '—'), h('td', null, r.legal_basis)))),
    );
    const publish = user.role === 'admin' ? h('button', { type: 'button', class: 'primary' }, L('审核通过并发布', 'Review and publish')) : null;
    publish?.addEventListener('click', () => {
      void post(`/api/v1/responsibility/versions/${res.version_id}/publish`, {})
        .then(async () => {
          showOk(st, L('已发布', 'Published'));
          await load();
        })
        .catch((e) => showError(st, e));
    });
    replace(draftBox, h('p', null, `${L('版本', 'Version')} #${res.version_id}`), table, publish, st);
  };
  const fetchDraft = async (): Promise<{ version_id: number; rules: Rule[] } | null> => {
    try {
      return await get<{ version_id: number; rules: Rule[] }>('/api/v1/responsibility/draft', { signal: ctx.signal });
    } catch {
      return null;
    }
  };
  const disputeCard = (d: Dispute): HTMLElement => {
    const st = statusBox();
    const lead = h('select', { id: `rul-lead-${d.id}` }, ...depts.map((x) => option(x.id, x.name)));
    const sup = h('select', { id: `rul-sup-${d.id}`, multiple: true, size: '4' }, ...depts.map((x) => option(x.id, x.name)));
    const note = h('textarea', { rows: '2', maxlength: String(LIMITS.note), id: `rul-note-${d.id}` });
    const btn = h('button', { type: 'button', class: 'primary' }, L('裁定', 'Rule'));
    btn.addEventListener('click', () => {
      if (!note.value.trim()) return showError(st, L('请填写裁定理由。', 'Give the ruling’s reason.'));
      const supporting = [...sup.selectedOptions].map((o) => Number(o.value)).filter((x) => x !== Number(lead.value));
      void post(`/api/v1/disputes/${d.id}/ruling`, { lead_dept_id: Number(lead.value), supporting_dept_ids: supporting, note: note.value.trim() })
        .then(async () => {
          showOk(st, L('已裁定', 'Ruled'));
          await load();
        })
        .catch((e) => showError(st, e));
    });
    const overdue = Date.parse(d.due_at) < Date.now();
    return h(
      'article',
      { class: `card ${overdue ? 'is-overdue' : ''}`, 'data-dispute': String(d.id) },
      h('h3', null, `#${d.id} ${L('案件', 'Case')} ${d.case_id} — ${deptMap.get(d.dept_id)?.name ?? ''}`),
      h('p', null, d.reason),
      h('p', { class: 'muted' }, L('依据条目', 'Relied-on entry'), ` #${d.rule_id} · ${catMap.get(d.category_id ?? 0)?.name ?? ''} · ${L('裁定时限', 'Rule by')} ${fmtTime(d.due_at, lang())}`),
      user.role === 'shift_lead' ? h('fieldset', null, h('legend', null, L('裁定', 'Ruling')), field(L('主办部门', 'Lead department'), lead), field(L('协办部门', 'Supporting departments'), sup), field(L('裁定理由（必填）', 'Reason (required)'), note), btn) : null,
      st,
    );
  };
  await load();
  ready(true);
}

/** The public responsibility list (#/responsibility): who is responsible for what, no login. */
export async function responsibilityPage(ctx: Ctx): Promise<void> {
  ctx.main.append(
    h('h1', null, L('权责清单', 'Responsibility list')),
    h('p', { class: 'lead' }, L('各类城市问题由哪个部门主办、哪些部门协办，以及法律依据。', 'Which department leads on each kind of problem, who supports it, and the legal basis.')),
  );
  const rules = await get<PublicRule[]>('/api/v1/public/responsibility', { signal: ctx.signal, anonymous: true });
  ctx.main.append(
    rules.length
      ? h(
          'table',
          { class: 'public-list', 'data-testid': 'public-list' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, L('问题类别', 'Category')), h('th', { scope: 'col' }, L('区域', 'Area')), h('th', { scope: 'col' }, L('主办部门', 'Lead')), h('th', { scope: 'col' }, L('协办部门', 'Supporting')), h('th', { scope: 'col' }, L('法律依据', 'Legal basis')))),
          h('tbody', null, ...rules.map((r) => h('tr', null, h('td', null, r.category_name), h('td', null, r.area_name), h('td', null, r.lead), h('td', null, r.supporting.join('、') || '—'), h('td', null, r.legal_basis || '—')))),
        )
      : h('p', { class: 'muted' }, L('清单尚未发布。', 'No list published yet.')),
  );
  ready(true);
}
