// Dispatch console (dispatcher / shift lead): the priority queue, routing suggestions with their
// confidence, and the one-step actions 立案, 派遣 (confirm or correct), 作废, 督办, 结案, 审批.

import { ApiError, LIMITS, act, call, get, me, optional, post, qs, type AuditEntry, type Case } from '../api';
import { debounce, field, fmtTime, h, option, replace, showError, showOk, statusBox } from '../dom';
import { L, actionName, channelName, clockName, lang, satisfactionName } from '../i18n';
import type { Ctx } from '../page';
import { areaPath, byId, categoryPath, loadAreas, loadCategories, loadDepts } from '../ref';
import { openSse } from '../sse';
import { categorySearch, categorySelect, countdown, factorList, gallery, mapPicker, priorityBadge, stateBadge } from '../widgets';
import { closingBox, requestBox, trailList } from './case-parts';

interface Route {
  lead_dept_id: number;
  supporting_dept_ids: number[];
  legal_basis: string;
  rule_id: number;
}

/** Errors meaning the case changed since the panel was drawn. */
const STALE_CODES = ['illegal_transition', 'no_pending_request', 'request_pending', 'conflict', 'case_moved'];

const OPEN_STATES = 'received,registered,dispatched,handling,feedback,checked,parked';

const VIEWS: { id: string; zh: string; en: string; query: Record<string, string | boolean>; hintZh: string; hintEn: string }[] = [
  { id: 'intake', zh: '待立案/待派遣', en: 'To register / dispatch', query: { state: 'received,registered' }, hintZh: '受理的案件由值班长立案，立案后由派遣员派遣。', hintEn: 'Received cases are registered by the shift lead, then dispatched by a dispatcher.' },
  { id: 'received', zh: '待立案', en: 'To register', query: { state: 'received' }, hintZh: '这些案件等值班长立案（或作废）；派遣员在立案后才能派遣。', hintEn: 'These wait for the shift lead to register (or void) them; dispatchers act once they are registered.' },
  { id: 'registered', zh: '待派遣', en: 'To dispatch', query: { state: 'registered' }, hintZh: '已立案，等待派遣到主办部门。', hintEn: 'Registered, waiting to be dispatched to a lead department.' },
  { id: 'checked', zh: '待结案', en: 'To close', query: { state: 'checked' }, hintZh: '监督员核查通过，等值班长结案。', hintEn: 'Checked on site, waiting for the shift lead to close.' },
  { id: 'pending', zh: '待审批（延期/挂账）', en: 'Requests to decide', query: { state: 'handling' }, hintZh: '部门提出的延期、挂账申请，由值班长审批。', hintEn: 'Extension and parking requests from departments, for the shift lead to decide.' },
  // Open cases only, as the dashboard counts them: a closed case that ran late is not 超期 any more.
  { id: 'overdue', zh: '超期', en: 'Overdue', query: { overdue: true, state: OPEN_STATES }, hintZh: '在办且已超过处置时限的案件（与驾驶舱的超期数一致）。', hintEn: 'Open cases past their deadline (the same count as the dashboard).' },
  { id: 'open', zh: '全部在办', en: 'All open', query: { state: OPEN_STATES }, hintZh: '所有未结案的案件。', hintEn: 'Every case not closed yet.' },
  { id: 'review', zh: '分类待复核', en: 'Low-confidence category', query: { review: true }, hintZh: '自动分类把握不大的案件，请核对分类。', hintEn: 'Cases whose automatic category is uncertain; check the category.' },
];

/** Where each role starts: the queue it can act on. */
function defaultView(role: string): string {
  switch (role) {
    case 'dispatcher':
      return 'registered';
    case 'leader':
      return 'overdue';
    default:
      return 'intake';
  }
}

export async function dispatchPage(ctx: Ctx): Promise<void> {
  const user = me()!;
  const role = user.role;
  const [cats, depts, areas, limits] = await Promise.all([
    loadCategories(),
    loadDepts(),
    loadAreas(),
    get<{ category_id: number; clock: string; amount: number }[]>('/api/v1/time-limits').catch(() => []),
  ]);
  const limitOf = new Map(limits.map((l) => [l.category_id, l]));
  /** The time limit a category runs on: its own or its nearest ancestor's (none: the default). */
  const effectiveLimit = (id: number | null): { clock: string; amount: number } | null => {
    for (let x = id, depth = 0; x !== null && depth < 8; depth++) {
      const own = limitOf.get(x);
      if (own) return own;
      x = catMap.get(x)?.parent_id ?? null;
    }
    return null;
  };
  const catMap = byId(cats);
  const deptMap = byId(depts);
  const areaMap = byId(areas);
  const catByCode = new Map(cats.map((c) => [c.code, c]));

  const areaParam = Number(ctx.params.get('area'));
  const areaFilter = Number.isInteger(areaParam) && areaParam > 0 ? areaParam : null;
  let view = ctx.params.get('view') ?? defaultView(role);
  if (!VIEWS.some((v) => v.id === view)) view = defaultView(role);
  const viewSel = h('select', { id: 'dq-view' }, VIEWS.map((v) => option(v.id, L(v.zh, v.en), v.id === view)));
  const refreshBtn = h('button', { type: 'button' }, L('刷新', 'Refresh'));
  const filter = h('input', { type: 'search', id: 'dq-filter', maxlength: '60', autocomplete: 'off' });
  const applyFilter = () => {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const tr of queueBody.querySelectorAll<HTMLTableRowElement>('tr')) {
      const hit = !q || (tr.textContent ?? '').toLowerCase().includes(q);
      tr.hidden = !hit;
      if (hit) shown++;
    }
    queueStatus.textContent = q ? L(`共 ${rows.length} 件，匹配 ${shown} 件`, `${rows.length} case(s), ${shown} match`) : L(`共 ${rows.length} 件`, `${rows.length} case(s)`);
  };
  filter.addEventListener('input', applyFilter);
  const liveNote = h('span', { class: 'muted live-note', 'aria-live': 'polite' });
  const queueBody = h('tbody');
  const queueStatus = h('p', { class: 'muted', role: 'status' });
  const viewHint = h('p', { class: 'hint', 'data-testid': 'view-hint' });
  const detail = h('section', { class: 'card detail', 'aria-labelledby': 'dd-h', tabindex: '-1' }, h('h2', { id: 'dd-h' }, L('案件详情', 'Case')), h('p', { class: 'muted' }, L('从左侧队列中选择一个案件。', 'Choose a case from the queue.')));
  let selected: number | null = null;
  /** The case this panel is acting on (its own change is not news from someone else). */
  let acting: number | null = null;
  let miniMap: { dispose: () => void } | null = null;
  let mapSeq = 0;
  ctx.dispose(() => miniMap?.dispose());
  let rows: Case[] = [];

  const loadQueue = async () => {
    const v = VIEWS.find((x) => x.id === view)!;
    viewHint.textContent = L(v.hintZh, v.hintEn) + (areaFilter !== null ? L(`（仅 ${areaPath(areaFilter, areaMap)}）`, ` (only ${areaPath(areaFilter, areaMap)})`) : '');
    const params: Record<string, string | number | boolean> = { order: 'priority', limit: 200, ...v.query };
    // From a figure of the dashboard: the cases of one area.
    if (areaFilter !== null) params.area_id = areaFilter;
    let list: Case[] | null;
    try {
      list = await optional<Case[]>('GET', `/api/v1/cases${qs(params)}`, { signal: ctx.signal });
    } catch (e) {
      if (!(e instanceof ApiError) || v.id !== 'review') throw e;
      // The review filter is spelled `review=true` today and `review=1` in the contract.
      list = await optional<Case[]>('GET', `/api/v1/cases${qs({ ...params, review: 1 })}`, { signal: ctx.signal }).catch(() => null);
    }
    if (list === null) {
      replace(queueBody);
      queueStatus.textContent = L('此视图暂不可用。', 'This view is not available yet.');
      return;
    }
    if (v.id === 'pending') list = list.filter((c) => c.pending);
    rows = list;
    queueStatus.textContent = L(`共 ${rows.length} 件`, `${rows.length} case(s)`);
    replace(
      queueBody,
      rows.map((c) => {
        const tr = h(
          'tr',
          { class: c.id === selected ? 'selected' : undefined, 'data-number': c.number, 'data-id': String(c.id) },
          h('td', null, priorityBadge(c.priority_score, c.priority_level)),
          h('td', null, h('button', { type: 'button', class: 'link', onclick: () => void select(c.id), 'aria-label': `${L('打开', 'Open')} ${c.number}` }, c.number)),
          h('td', { class: 'title-cell' }, c.urgent ? h('span', { class: 'badge prio-urgent' }, L('急', 'Urgent')) : null, ' ', c.title || c.text.slice(0, 40)),
          h('td', null, categoryPath(c.category_id, catMap)),
          h('td', { title: areaPath(c.area_id, areaMap) }, areaPath(c.area_id, areaMap).split(' / ').slice(0, 2).join(' / ')),
          h('td', null, stateBadge(c.state), c.overdue ? h('span', { class: 'badge overdue' }, L('超期', 'overdue')) : null),
          h('td', { class: 'num-cell' }, String(c.reporter_count)),
          h('td', null, channelName(c.channel)),
        );
        return tr;
      }),
    );
    applyFilter();
  };

  const select = async (id: number) => {
    selected = id;
    for (const tr of queueBody.querySelectorAll('tr')) tr.classList.toggle('selected', tr.dataset.id === String(id));
    await renderDetail(id);
    detail.focus();
  };

  const renderDetail = async (id: number, refreshedBy = '') => {
    const [c, route, appeals, trail] = await Promise.all([
      get<Case>(`/api/v1/cases/${id}`),
      get<Route | null>(`/api/v1/cases/${id}/route`).catch(() => null),
      get<{ id: number; channel: string; title: string; reporter_name: string; reporter_phone: string; created_at: string }[]>(`/api/v1/cases/${id}/appeals`).catch(() => []),
      get<AuditEntry[]>(`/api/v1/cases/${id}/trail`).catch(() => [] as AuditEntry[]),
    ]);
    const st = statusBox();
    const staleNote = h('p', { class: 'stale-note', role: 'status', 'data-testid': 'stale-note', hidden: !refreshedBy });
    if (refreshedBy) staleNote.textContent = refreshedBy;
    const after = async (p: Promise<Case>, msg: string) => {
      acting = c.id;
      try {
        const updated = await p;
        await loadQueue();
        await renderDetail(updated.id);
        const box = detail.querySelector('.status') as HTMLElement | null;
        if (box) showOk(box, `${msg} ${updated.number} → ${updated.state_zh && lang() === 'zh-CN' ? updated.state_zh : updated.state}`);
      } catch (e) {
        // The case moved on under us: show it as it is now, with the reason in words.
        if (e instanceof ApiError && STALE_CODES.includes(e.code)) {
          await loadQueue().catch(() => undefined);
          await renderDetail(c.id).catch(() => undefined);
          const box = detail.querySelector('.status') as HTMLElement | null;
          if (box) showError(box, e);
          return;
        }
        showError(st, e);
      } finally {
        acting = null;
      }
    };

    // Classification: INT's suggestions, else the stored suggestion.
    const suggestions: { name: string; confidence: number; id?: number }[] = [];
    if (c.suggestions?.length) {
      for (const s of c.suggestions) suggestions.push({ name: s.name, confidence: s.confidence, id: catByCode.get(s.code)?.id });
    } else if (c.suggested_category_id) {
      suggestions.push({ name: categoryPath(c.suggested_category_id, catMap), confidence: c.suggested_confidence ?? 0, id: c.suggested_category_id });
    }

    // No stored suggestions (older cases): ask intake's classifier now, when it is deployed.
    if (suggestions.length === 0 && (c.state === 'received' || c.state === 'registered')) {
      try {
        const live = await optional<{ categories: { code: string; name: string; confidence: number; category_id?: number }[] }>('POST', '/api/v1/intake/suggest', {
          body: { text: c.text.slice(0, LIMITS.text), title: c.title.slice(0, LIMITS.title) },
        });
        for (const s of live?.categories ?? []) {
          const id = s.category_id ?? catByCode.get(s.code)?.id;
          suggestions.push({ name: id ? categoryPath(id, catMap) : s.name, confidence: s.confidence, id });
        }
      } catch {
        // suggestions are a help, not a requirement
      }
    }

    // Routing: the responsibility list's rule, INT's proposed route, or nothing.
    const deptSel = h('select', { id: `dd-dept-${c.id}` }, h('option', { value: '' }, L('按权责清单自动', 'By the responsibility list')));
    const sortedDepts = [...depts].sort((a, b) => a.name.localeCompare(b.name, 'zh'));
    for (const d of sortedDepts) deptSel.append(option(d.id, d.name));
    const pr = c.proposed_route ?? null;
    const proposedLead = pr?.lead_dept_id ?? (pr?.lead ? depts.find((d) => d.code === pr.lead!.code)?.id : undefined);
    const proposedSupport = (pr?.supporting ?? []).map((s) => (typeof s === 'number' ? s : depts.find((d) => d.code === s.code)?.id)).filter((x): x is number => x !== undefined);
    const suggestedLead = route?.lead_dept_id ?? proposedLead;
    if (suggestedLead) deptSel.value = String(suggestedLead);
    const supportWanted = route?.supporting_dept_ids ?? proposedSupport;
    const supportFilter = h('input', { type: 'search', id: `dd-sup-q-${c.id}`, autocomplete: 'off', maxlength: '40' });
    const supportBoxes = sortedDepts.map((d) => h('input', { type: 'checkbox', id: `dd-sup-${c.id}-${d.id}`, value: String(d.id), checked: supportWanted.includes(d.id) }));
    const supportList = h(
      'ul',
      { class: 'plain check-list', 'aria-label': L('协办部门', 'Supporting departments') },
      sortedDepts.map((d, i) => h('li', { 'data-name': d.name }, supportBoxes[i], ' ', h('label', { for: supportBoxes[i].id }, d.name))),
    );
    supportFilter.addEventListener('input', () => {
      const q = supportFilter.value.trim();
      for (const li of supportList.querySelectorAll<HTMLElement>('li')) li.hidden = q !== '' && !(li.dataset.name ?? '').includes(q) && !(li.querySelector('input') as HTMLInputElement).checked;
    });

    const routeInfo = route
      ? h(
          'div',
          { class: 'route' },
          h('p', null, L('权责清单建议主办：', 'Responsibility list, lead: '), h('strong', null, deptMap.get(route.lead_dept_id)?.name ?? `#${route.lead_dept_id}`)),
          route.supporting_dept_ids.length ? h('p', null, L('协办：', 'Supporting: '), route.supporting_dept_ids.map((d) => deptMap.get(d)?.name ?? `#${d}`).join('、')) : null,
          route.legal_basis ? h('p', { class: 'muted' }, L('依据：', 'Legal basis: '), route.legal_basis) : null,
          h('p', { class: 'muted' }, L(`规则 #${route.rule_id}`, `Rule #${route.rule_id}`)),
        )
      : proposedLead
        ? h(
            'div',
            { class: 'route' },
            h('p', null, L('受理时建议主办：', 'Proposed at intake, lead: '), h('strong', null, deptMap.get(proposedLead)?.name ?? `#${proposedLead}`)),
            proposedSupport.length ? h('p', null, L('协办：', 'Supporting: '), proposedSupport.map((d) => deptMap.get(d)?.name ?? `#${d}`).join('、')) : null,
            pr?.legal_basis ? h('p', { class: 'muted' }, L('依据：', 'Legal basis: '), pr.legal_basis) : null,
          )
        : h('p', { class: 'muted' }, L('权责清单中没有对应规则，请人工选择部门。', 'No rule of the responsibility list covers this case; choose a department.'));

    const actions = h('div', { class: 'action-area' });
    const can = (roles: string[]) => roles.includes(role);
    // A merged appeal shows why the repeat model merged it; a wrong merge is split off into its
    // own case (the first appeal opened the case and stays).
    const mergeReasons = new Map<number, string>();
    for (const step of trail) {
      const d = step.detail;
      if (step.action === 'merge_repeat' && d && typeof d.appeal_id === 'number' && typeof d.explanation === 'string') mergeReasons.set(d.appeal_id, d.explanation);
    }
    const splittable = !['closed', 'evaluated', 'voided'].includes(c.state) && can(['dispatcher', 'shift_lead', 'admin']);
    const mergedAppeal = (a: { id: number; channel: string; title: string; reporter_name: string; reporter_phone: string; created_at: string }, i: number) => {
      const li = h('li', null, `${fmtTime(a.created_at, lang())} · ${channelName(a.channel)} · ${a.reporter_name || '—'} ${a.reporter_phone || ''} · ${a.title}`);
      const why = mergeReasons.get(a.id);
      if (why) li.append(h('p', { class: 'muted', 'data-testid': 'merge-reason' }, `${L('合并理由：', 'Why merged: ')}${why}`));
      if (i > 0 && splittable) {
        const reason = h('input', { type: 'text', maxlength: '500' });
        const confirmBtn = h('button', { type: 'button', class: 'danger' }, L('确认拆分', 'Confirm the split'));
        confirmBtn.addEventListener('click', () => {
          const body = reason.value.trim() ? { reason: reason.value.trim() } : {};
          void after(
            post<{ original: Case; new_case: Case }>(`/api/v1/cases/${c.id}/appeals/${a.id}/split`, body).then((r) => r.new_case),
            L('已拆分为新案件', 'Split into its own case'),
          );
        });
        li.append(h('details', null, h('summary', null, L('拆分为新案件…', 'Split into its own case…')), field(L('拆分原因（可选）', 'Reason for the split (optional)'), reason), confirmBtn));
      }
      return li;
    };
    const reasonBox = (labelZh: string, labelEn: string, required: boolean) => {
      const ta = h('textarea', { rows: '2', maxlength: String(LIMITS.note) });
      return { ta, el: field(required ? L(`${labelZh}（必填）`, `${labelEn} (required)`) : L(labelZh, labelEn), ta) };
    };

    if (c.state === 'received' && can(['shift_lead'])) {
      actions.append(h('button', { type: 'button', class: 'primary', onclick: () => void after(act(c.id, { action: 'register' }), L('已立案', 'Registered')) }, L('立案', 'Register (立案)')));
    }
    const dispatchExtras: HTMLElement[] = [];
    if (c.state === 'registered' && can(['dispatcher', 'shift_lead'])) {
      const dispatchBtn = h('button', { type: 'button', class: 'primary' }, L('确认派遣', 'Dispatch'));
      // Instructions for the department and a deadline no later than the category allows (a
      // shorter one with its reason); empty keeps the category's time limit.
      const catLimit = effectiveLimit(c.category_id);
      const instr = h('textarea', { id: `dd-instr-${c.id}`, rows: '2', maxlength: String(LIMITS.note), 'data-testid': 'dispatch-instructions' });
      const unit = catLimit ? clockName(catLimit.clock) : c.clock ? clockName(c.clock) : '';
      const amountIn = h('input', { type: 'number', id: `dd-limit-${c.id}`, min: '1', max: catLimit ? String(catLimit.amount) : '1000', step: '1', inputmode: 'numeric', 'data-testid': 'dispatch-limit' });
      if (catLimit) amountIn.placeholder = String(catLimit.amount);
      const whyShort = h('input', { type: 'text', id: `dd-why-${c.id}`, maxlength: '500', 'data-testid': 'dispatch-deadline-reason' });
      const whyField = field(L('缩短时限的理由（时限短于分类时限时必填）', 'Why a shorter deadline (required when shorter than the category’s)'), whyShort);
      const syncWhy = () => {
        const n = Number(amountIn.value);
        whyField.hidden = !(amountIn.value && catLimit && n < catLimit.amount);
      };
      amountIn.addEventListener('input', syncWhy);
      syncWhy();
      dispatchBtn.addEventListener('click', () => {
        const body: Record<string, unknown> = { action: 'dispatch' };
        if (deptSel.value) body.lead_dept_id = Number(deptSel.value);
        const sup = supportBoxes.filter((b) => b.checked).map((b) => Number(b.value)).filter((d) => d !== Number(deptSel.value));
        if (sup.length) body.supporting_dept_ids = sup;
        if (instr.value.trim()) body.instructions = instr.value.trim();
        if (amountIn.value.trim()) {
          const n = Number(amountIn.value);
          if (!Number.isInteger(n) || n < 1) return showError(st, L('处置时限应为正整数。', 'The deadline is a whole number of at least 1.'));
          // Later than the category allows, or shorter without a reason: the server says which
          // (deadline_beyond_limit, deadline_reason_required), in words from errors.ts.
          body.limit_amount = n;
          if (whyShort.value.trim()) body.deadline_reason = whyShort.value.trim();
        }
        void after(act(c.id, body), L('已派遣', 'Dispatched'));
      });
      dispatchExtras.push(
        field(L('处置要求（写给承办部门，可选）', 'Instructions for the department (optional)'), instr),
        field(
          catLimit ? L(`处置时限（${unit}，不超过分类时限 ${catLimit.amount}；留空按分类时限）`, `Deadline (${unit}, at most the category’s ${catLimit.amount}; empty keeps it)`) : L('处置时限（留空按分类时限）', 'Deadline (empty keeps the category’s time limit)'),
          amountIn,
        ),
        whyField,
      );
      actions.append(
        h(
          'fieldset',
          { class: 'dispatch-box' },
          h('legend', null, L('派遣（确认或更正部门）', 'Dispatch (confirm or correct the department)')),
          routeInfo,
          field(L('主办部门', 'Lead department'), deptSel),
          h('fieldset', { class: 'support' }, h('legend', null, L('协办部门（可多选）', 'Supporting departments (several allowed)')), field(L('按名称筛选', 'Filter by name'), supportFilter), supportList),
          dispatchExtras,
          dispatchBtn,
          ' ',
          h(
            'button',
            { type: 'button', 'data-testid': 'offer-pool', onclick: () => void after(post<Case>(`/api/v1/cases/${c.id}/offer`, {}), L('已发布到认领池', 'Offered to the partners’ pool')) },
            L('发布到认领池（合作单位认领）', 'Offer to the partners’ pool'),
          ),
        ),
      );
    } else {
      actions.append(h('div', { class: 'route-box' }, h('h3', null, L('派遣建议', 'Routing')), routeInfo));
    }
    if ((c.state === 'received' || c.state === 'registered') && can(['shift_lead', 'dispatcher', 'admin'])) {
      const catSel = categorySelect(cats, L('选择正确分类', 'Choose the right category'));
      catSel.id = `dd-cat-${c.id}`;
      if (c.category_id) catSel.value = String(c.category_id);
      const fix = h('button', { type: 'button' }, L('更正分类', 'Correct category'));
      fix.addEventListener('click', () => {
        if (!catSel.value) return;
        void after(call<Case>('PATCH', `/api/v1/cases/${c.id}`, { body: { category_id: Number(catSel.value) } }), L('已更正分类', 'Category corrected'));
      });
      const catFind = categorySearch(catSel);
      catFind.id = `dd-cat-q-${c.id}`;
      actions.append(h('div', { class: 'inline' }, field(L('查找分类', 'Find a category'), catFind), field(L('分类', 'Category'), catSel), fix));
    }
    if ((c.state === 'received' || c.state === 'registered') && can(['shift_lead'])) {
      const r = reasonBox('作废原因', 'Reason to void', true);
      const btn = h('button', { type: 'button', class: 'danger' }, L('作废', 'Void (作废)'));
      btn.addEventListener('click', () => {
        if (!r.ta.value.trim()) return showError(st, L('请填写作废原因。', 'Give the reason to void.'));
        void after(act(c.id, { action: 'void', reason: r.ta.value.trim() }), L('已作废', 'Voided'));
      });
      actions.append(h('details', null, h('summary', null, L('作废…', 'Void…')), r.el, btn));
    }
    if (c.state === 'checked' && can(['shift_lead'])) {
      const closure = h('select', { id: `dd-closure-${c.id}` }, option('', L('按时限自动判定（正常/超时）', 'By the deadline (normal / overdue)')), option('error', L('差错结案', 'Error')), option('special', L('特殊结案', 'Special')));
      const btn = h('button', { type: 'button', class: 'primary' }, L('结案', 'Close (结案)'));
      btn.addEventListener('click', () => {
        const body: Record<string, unknown> = { action: 'close' };
        if (closure.value) body.closure_type = closure.value;
        void after(act(c.id, body), L('已结案', 'Closed'));
      });
      actions.append(closingBox(trail) ?? '', h('div', { class: 'inline' }, field(L('结案类型', 'Closure type'), closure), btn));
    }
    if (c.pending && c.state === 'handling' && can(['shift_lead'])) {
      const note = reasonBox('审批意见', 'Note', false);
      const approve = h('button', { type: 'button', class: 'primary', onclick: () => void after(act(c.id, { action: 'decide', approve: true, note: note.ta.value.trim() }), L('已批准', 'Approved')) }, L('批准', 'Approve'));
      const reject = h('button', { type: 'button', onclick: () => void after(act(c.id, { action: 'decide', approve: false, note: note.ta.value.trim() }), L('已驳回', 'Rejected')) }, L('驳回', 'Reject'));
      actions.append(h('fieldset', null, h('legend', null, c.pending === 'extension' ? L('审批延期申请', 'Decide the extension request') : L('审批挂账申请', 'Decide the parking request')), requestBox(c, trail), note.el, approve, ' ', reject));
    }
    if (c.state === 'parked' && can(['shift_lead'])) {
      actions.append(h('button', { type: 'button', onclick: () => void after(act(c.id, { action: 'unpark', note: '' }), L('已解除挂账', 'Unparked')) }, L('解除挂账', 'Unpark')));
    }
    if (!['closed', 'evaluated', 'voided'].includes(c.state) && can(['leader', 'shift_lead'])) {
      const r = reasonBox('督办意见', 'Supervision note', false);
      const btn = h('button', { type: 'button' }, L('督办', 'Supervise (督办)'));
      btn.addEventListener('click', () => void after(act(c.id, { action: 'supervise', note: r.ta.value.trim() }), L('已督办', 'Supervised')));
      actions.append(h('details', null, h('summary', null, L('督办…', 'Supervise…')), r.el, btn));
    }
    if ((c.state === 'closed' || c.state === 'evaluated') && can(['shift_lead'])) {
      const r = reasonBox('重新办理原因', 'Reason to reopen', true);
      const btn = h('button', { type: 'button' }, L('重新办理', 'Reopen'));
      btn.addEventListener('click', () => {
        if (!r.ta.value.trim()) return showError(st, L('请填写原因。', 'Give the reason.'));
        void after(act(c.id, { action: 'reopen', reason: r.ta.value.trim() }), L('已重新办理', 'Reopened'));
      });
      actions.append(h('details', null, h('summary', null, L('重新办理…', 'Reopen…')), r.el, btn));
    }

    const due = countdown(c.due_at);
    // Where the case is: a small map with its point (only when it has one and boundaries exist).
    const mapBox = h('div', { class: 'mini-map-box', 'data-testid': 'mini-map' });
    miniMap?.dispose();
    miniMap = null;
    const drawn = ++mapSeq;
    if (c.lat !== null && c.lon !== null) {
      const [lat, lon] = [c.lat, c.lon];
      mapBox.classList.add('await-map');
      void mapPicker(mapBox, () => undefined, ctx.signal, { readOnly: true, label: L(`案件位置：${c.address || areaPath(c.area_id, areaMap)}`, `Where the case is: ${c.address || areaPath(c.area_id, areaMap)}`) })
        .then((m) => {
          if (!m) return mapBox.remove();
          if (drawn !== mapSeq) return m.dispose();
          miniMap = m;
          m.setPoint(lat, lon);
        })
        .catch(() => mapBox.remove());
    }
    replace(
      detail,
      h('h2', { id: 'dd-h', 'data-state': c.state, 'data-updated': c.updated_at }, h('span', { class: 'num' }, c.number), ' ', stateBadge(c.state), ' ', priorityBadge(c.priority_score, c.priority_level)),
      staleNote,
      h('p', { class: 'case-title' }, c.title),
      h('p', { class: 'case-text' }, c.text),
      gallery(c.id),
      mapBox,
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, L('合并报告人数', 'Reporters (merged)')),
        h('dd', { 'data-testid': 'reporter-count' }, String(c.reporter_count)),
        h('dt', null, L('受理时间', 'Received')),
        h('dd', null, fmtTime(c.created_at, lang())),
        h('dt', null, L('渠道', 'Channel')),
        h('dd', null, channelName(c.channel)),
        h('dt', null, L('分类', 'Category')),
        h('dd', null, categoryPath(c.category_id, catMap)),
        h('dt', null, L('区域', 'Area')),
        h('dd', null, areaPath(c.area_id, areaMap)),
        h('dt', null, L('地址', 'Address')),
        h('dd', null, c.address || '—', c.lat !== null && c.lon !== null ? h('span', { class: 'muted' }, ` (${c.lat.toFixed(5)}, ${c.lon.toFixed(5)})`) : null),
        h('dt', null, L('报告人', 'Reporter')),
        h('dd', null, `${c.reporter_name || '—'} ${c.reporter_phone || ''}`),
        h('dt', null, L('主办部门', 'Lead department')),
        h('dd', null, c.lead_dept_id ? deptMap.get(c.lead_dept_id)?.name ?? `#${c.lead_dept_id}` : '—'),
        h('dt', null, L('时限', 'Time limit')),
        h('dd', { class: due.overdue ? 'overdue' : undefined }, c.due_at ? `${c.limit_amount ?? ''} ${clockName(c.clock)} · ${fmtTime(c.due_at, lang())} · ${due.text}` : c.pending ? L('计时暂停（申请待审批）', 'paused (request waiting for a decision)') : '—'),
        c.dispatch_order?.instructions ? h('dt', null, L('处置要求', 'Instructions')) : null,
        c.dispatch_order?.instructions ? h('dd', { 'data-testid': 'order-instructions' }, c.dispatch_order.instructions) : null,
        c.dispatch_order?.deadline_reason ? h('dt', null, L('缩短时限理由', 'Why a shorter deadline')) : null,
        c.dispatch_order?.deadline_reason
          ? h('dd', null, L(`分类时限 ${c.dispatch_order.category_amount}，定为 ${c.dispatch_order.limit_amount}：`, `category ${c.dispatch_order.category_amount}, set to ${c.dispatch_order.limit_amount}: `), c.dispatch_order.deadline_reason)
          : null,
        h('dt', null, L('督办/返工/回退', 'Supervised / reworked / returned')),
        h('dd', null, `${c.supervise_count} / ${c.rework_count} / ${c.return_count}`),
        c.asset ? h('dt', null, L('部件', 'Asset')) : null,
        c.asset ? h('dd', null, `${c.asset.name} (${c.asset.id})`) : null,
        c.satisfaction ? h('dt', null, L('评价', 'Rating')) : null,
        c.satisfaction ? h('dd', null, satisfactionName(c.satisfaction)) : null,
      ),
      h('h3', null, L('优先级因素', 'Priority factors')),
      factorList(c.priority_factors) ?? h('p', { class: 'muted' }, '—'),
      h('h3', null, L('分类建议', 'Category suggestions')),
      suggestions.length
        ? h(
            'ul',
            { class: 'suggestions' },
            suggestions.map((s) =>
              h(
                'li',
                null,
                `${s.name} · ${L('置信度', 'confidence')} `,
                h('meter', { min: '0', max: '1', value: String(s.confidence), 'aria-label': `${s.name} ${L('置信度', 'confidence')}` }),
                ` ${(s.confidence * 100).toFixed(1)}%`,
                s.id && s.id !== c.category_id && (c.state === 'received' || c.state === 'registered') && can(['shift_lead', 'dispatcher', 'admin'])
                  ? h('button', { type: 'button', class: 'link', onclick: () => void after(call<Case>('PATCH', `/api/v1/cases/${c.id}`, { body: { category_id: s.id } }), L('已改为建议分类', 'Category set to the suggestion')) }, L(' 采用', ' use'))
                  : s.id === c.category_id
                    ? h('span', { class: 'muted' }, L('（当前分类）', ' (current)'))
                    : null,
              ),
            ),
          )
        : h('p', { class: 'muted' }, L('无', 'None')),
      h('h3', null, L('操作', 'Actions')),
      actions,
      st,
      appeals.length > 1
        ? h(
            'details',
            null,
            h('summary', null, L(`合并的 ${appeals.length} 条诉求`, `${appeals.length} merged appeals`)),
            h('ul', null, appeals.map((a, i) => mergedAppeal(a, i))),
          )
        : null,
      h(
        'details',
        null,
        h('summary', null, L('办理记录', 'Trail')),
        trailList(trail),
      ),
    );
  };

  viewSel.addEventListener('change', () => {
    view = viewSel.value;
    history.replaceState(null, '', `#/dispatch?view=${view}`);
    void loadQueue();
  });
  refreshBtn.addEventListener('click', () => void loadQueue());

  ctx.main.append(
    h('h1', null, L('派遣台', 'Dispatch console')),
    h(
      'div',
      { class: 'split wide' },
      h(
        'section',
        { class: 'card queue', 'aria-labelledby': 'dq-h' },
        h('h2', { id: 'dq-h' }, L('案件队列（按优先级）', 'Queue (by priority)')),
        h('div', { class: 'inline' }, field(L('视图', 'View'), viewSel), field(L('按编号或内容筛选', 'Filter by number or text'), filter), refreshBtn, liveNote),
        viewHint,
        queueStatus,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'data' },
            h('caption', { class: 'sr-only' }, L('按优先级排序的案件', 'Cases by priority')),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                [L('优先级', 'Priority'), L('编号', 'Number'), L('标题', 'Title'), L('分类', 'Category'), L('区域', 'Area'), L('状态', 'State'), L('报告人数', 'Reporters'), L('渠道', 'Channel')].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            queueBody,
          ),
        ),
      ),
      detail,
    ),
  );
  await loadQueue();
  const pre = ctx.params.get('case');
  if (pre) {
    const found = rows.find((r) => r.number === pre || String(r.id) === pre);
    if (found) await select(found.id);
  }

  // Someone else changed the open case: draw it again as it is now (unless this panel did it,
  // in which case it is drawn already), so it never offers an action the state no longer allows.
  const refreshOpen = async (id: number, action: string) => {
    const shown = detail.querySelector<HTMLElement>('#dd-h')?.dataset.updated;
    const now = await get<Case>(`/api/v1/cases/${id}`).catch(() => null);
    if (!now || selected !== id || acting === id || now.updated_at === shown) return;
    await renderDetail(id, L(`此案件刚被更新（${actionName(action)}），已按最新状态刷新。`, `This case was just updated (${actionName(action)}); showing its current state.`)).catch(() => undefined);
  };

  // New cases arrive live: refresh the queue when the stream says so.
  const refresh = debounce(() => void loadQueue().catch(() => undefined), 800);
  const sse = openSse(
    '/api/v1/events',
    (msg) => {
      if (msg.event === 'reset') {
        refresh();
        return;
      }
      try {
        const ev = JSON.parse(msg.data) as { case_id: number; number: string; action: string; state: string };
        liveNote.textContent = `${L('最新：', 'Latest: ')}${ev.number} ${actionName(ev.action)}`;
        if (ev.case_id === selected) void refreshOpen(ev.case_id, ev.action);
      } catch {
        // ignore malformed events
      }
      refresh();
    },
    () => undefined,
  );
  ctx.dispose(() => {
    sse.close();
    refresh.cancel();
  });
}
