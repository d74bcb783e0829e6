// Department workbench: the handler's tasks with live deadline countdowns — accept (签收),
// feedback with note and photos, return a wrong dispatch (回退), ask for an extension (延期) or
// parking (挂账), see the caller's phone on demand to call back; and the grid supervisor's checks
// (核查通过 / 核查不通过).

import { errorText } from '../errors';
import { ApiError, LIMITS, act, get, me, qs, uploadPhotos, type AuditEntry, type Case } from '../api';
import { field, fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, clockName, lang } from '../i18n';
import type { Ctx } from '../page';
import { areaPath, byId, categoryPath, loadAreas, loadCategories, loadDepts } from '../ref';
import { countdown, gallery, mapPicker, officialReply, photoPicker, priorityBadge, stateBadge } from '../widgets';
import { reporterContact, requestBox } from './case-parts';
import { cohandleSections, disputeDetails, subtaskSummary } from './cohandle';
import { patrolForm } from './patrol';

export async function workbenchPage(ctx: Ctx): Promise<void> {
  const user = me()!;
  const isDept = user.role === 'dept_handler' || user.role === 'partner';
  const isHandler = isDept || user.role === 'admin';
  const isSupervisor = user.role === 'grid_supervisor' || user.role === 'admin';
  const [cats, areas, depts] = await Promise.all([loadCategories(), loadAreas(), loadDepts()]);
  const catMap = byId(cats);
  const areaMap = byId(areas);
  const deptMap = byId(depts);

  ctx.main.append(
    h('h1', null, isHandler && !isSupervisor ? L('部门工作台', 'Department workbench') : isSupervisor && !isHandler ? L('监督员工作台', 'Supervisor workbench') : L('工作台', 'Workbench')),
  );
  if (user.dept_id) ctx.main.append(h('p', { class: 'lead' }, L('部门：', 'Department: '), deptMap.get(user.dept_id)?.name ?? ''));

  const tick = () => {
    const now = Date.now();
    for (const el of ctx.main.querySelectorAll<HTMLElement>('[data-due]')) {
      const cd = countdown(el.dataset.due ?? null, now);
      el.textContent = cd.text;
      el.classList.toggle('overdue', cd.overdue);
      el.classList.toggle('soon', cd.soon);
    }
  };
  const timer = window.setInterval(tick, 1000);
  ctx.dispose(() => window.clearInterval(timer));

  // Where a task is: a link that opens a small map with its point on the card (drawn on demand,
  // so a list of tasks does not draw a map each).
  const maps: { dispose: () => void }[] = [];
  ctx.dispose(() => maps.forEach((m) => m.dispose()));
  const mapToggle = (c: Case): HTMLElement | null => {
    if (c.lat === null || c.lon === null) return null;
    const [lat, lon] = [c.lat, c.lon];
    const box = h('div', { class: 'mini-map-box', 'data-testid': 'task-map' });
    const link = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false', 'data-testid': 'task-map-link' }, L(' 在地图上查看', ' Show on the map'));
    let drawn = false;
    link.addEventListener('click', () => {
      const open = link.getAttribute('aria-expanded') !== 'true';
      link.setAttribute('aria-expanded', String(open));
      box.hidden = !open;
      if (!open || drawn) return;
      drawn = true;
      void mapPicker(box, () => undefined, ctx.signal, { readOnly: true, label: L(`案件位置：${c.address || c.number}`, `Where the case is: ${c.address || c.number}`) })
        .then((m) => {
          if (!m) return box.replaceChildren(h('p', { class: 'muted' }, L('暂无地图边界数据。', 'No map boundaries available.')));
          maps.push(m);
          m.setPoint(lat, lon);
        })
        .catch(() => box.replaceChildren(h('p', { class: 'muted' }, L('地图加载失败。', 'The map could not load.'))));
    });
    box.hidden = true;
    return h('div', { class: 'task-map' }, link, box);
  };

  const loaders: (() => Promise<void>)[] = [];
  const reloadAll = async () => {
    await Promise.all(loaders.map((l) => l()));
  };
  const taskCard = (c: Case): HTMLElement => {
    const st = statusBox();
    const run = async (p: Promise<unknown>, msg: string) => {
      try {
        await p;
        showOk(st, msg);
        await reloadAll();
        const box = ctx.main.querySelector<HTMLElement>('#wb-status');
        if (box) {
          showOk(box, `${c.number}: ${msg}`);
          window.setTimeout(() => {
            if (box.textContent === `${c.number}: ${msg}`) {
              box.className = 'status';
              replace(box);
            }
          }, 10000);
        }
      } catch (e) {
        // The case changed elsewhere: draw the tasks again and say why on the fresh card (or,
        // when the case left this list, at the bottom of the screen).
        if (e instanceof ApiError && ['illegal_transition', 'no_pending_request', 'request_pending', 'conflict'].includes(e.code)) {
          await reloadAll().catch(() => undefined);
          const box = ctx.main.querySelector<HTMLElement>(`article[data-number="${c.number}"] > .status`) ?? ctx.main.querySelector<HTMLElement>('#wb-status');
          if (box) showError(box, e);
          return;
        }
        showError(st, e);
      }
    };
    const actions = h('div', { class: 'action-area' });
    const mine = user.role === 'admin' || c.lead_dept_id === user.dept_id;
    if (isDept && mine) {
      if (c.state === 'dispatched') {
        actions.append(h('button', { type: 'button', class: 'primary', onclick: () => void run(act(c.id, { action: 'accept' }), L('已签收', 'Accepted')) }, L('签收', 'Accept (签收)')));
      }
      if (c.state === 'handling') {
        const note = h('textarea', { rows: '3', maxlength: String(LIMITS.note), id: `fb-note-${c.id}` });
        const photos = photoPicker(L('处置照片（可选）', 'Photos of the fix (optional)'));
        const btn = h('button', { type: 'submit', class: 'primary' }, L('提交反馈', 'Send feedback'));
        // While an extension or parking request waits, feedback would end the handling under the
        // shift lead's feet: the server refuses it (request_pending), and the form says so first.
        const waitNote = c.pending ? h('p', { class: 'status warn', 'data-testid': 'feedback-blocked' }, L('延期/挂账申请待值班长审批，审批后才能提交反馈。', 'A request waits for the shift lead; feedback is possible after the decision.')) : null;
        btn.disabled = Boolean(c.pending);
        const f = h('form', { class: 'feedback-form', 'aria-label': `${L('反馈', 'Feedback')} ${c.number}` }, waitNote, field(L('处置情况（必填）', 'What was done (required)'), note), photos.el, btn);
        f.addEventListener('submit', (ev) => {
          ev.preventDefault();
          if (!note.value.trim()) return showError(st, L('请填写处置情况。', 'Describe what was done.'));
          const err = photos.error();
          if (err) return showError(st, err);
          btn.disabled = true;
          void run(
            (async () => {
              // Photos first while the case is still ours to edit, then the feedback.
              const files = photos.files();
              if (files.length) {
                const up = await uploadPhotos(c.id, 'feedback', files);
                if (up.errors.length) throw new Error(up.errors.join('; '));
              }
              await act(c.id, { action: 'feedback', note: note.value.trim() });
            })(),
            L('已反馈，等待核查', 'Fed back; waiting for the check'),
          ).finally(() => (btn.disabled = Boolean(c.pending)));
        });
        actions.append(h('details', { class: 'feedback-details' }, h('summary', null, L('反馈处置结果…', 'Report the fix…')), f));
        if (!c.pending) {
          const amount = h('input', { type: 'number', min: '1', max: '1000', value: '1', id: `ext-amt-${c.id}` });
          const reason = h('textarea', { rows: '2', maxlength: String(LIMITS.note), id: `ext-reason-${c.id}` });
          const eb = h('button', { type: 'button' }, L('申请延期', 'Request extension'));
          eb.addEventListener('click', () => {
            const n = Number(amount.value);
            if (!Number.isInteger(n) || n < 1 || n > 1000) return showError(st, L('延期数量应为 1–1000。', 'The extension is 1–1000 units.'));
            if (!reason.value.trim()) return showError(st, L('请填写延期原因。', 'Give the reason.'));
            void run(act(c.id, { action: 'request_extension', amount: n, reason: reason.value.trim() }), L('延期申请已提交', 'Extension requested'));
          });
          const pr = h('textarea', { rows: '2', maxlength: String(LIMITS.note), id: `park-reason-${c.id}` });
          const pb = h('button', { type: 'button' }, L('申请挂账', 'Request parking'));
          pb.addEventListener('click', () => {
            if (!pr.value.trim()) return showError(st, L('请填写挂账原因。', 'Give the reason.'));
            void run(act(c.id, { action: 'request_park', reason: pr.value.trim() }), L('挂账申请已提交', 'Parking requested'));
          });
          actions.append(
            h('details', null, h('summary', null, L('申请延期…', 'Extension…')), field(L(`延长（${clockName(c.clock)}）`, `Add (${clockName(c.clock)})`), amount), field(L('原因（必填）', 'Reason (required)'), reason), eb),
            h('details', null, h('summary', null, L('申请挂账…', 'Park…')), field(L('原因（必填）', 'Reason (required)'), pr), pb),
          );
        }
      }
      if (c.state === 'dispatched' || c.state === 'handling') {
        const reason = h('textarea', { rows: '2', maxlength: String(LIMITS.note), id: `ret-reason-${c.id}` });
        const rb = h('button', { type: 'button', class: 'danger' }, L('回退', 'Return (回退)'));
        rb.addEventListener('click', () => {
          if (!reason.value.trim()) return showError(st, L('请填写回退原因。', 'Give the reason for the return.'));
          void run(act(c.id, { action: 'return', reason: reason.value.trim() }), L('已回退给派遣台', 'Returned to dispatch'));
        });
        actions.append(h('details', null, h('summary', null, L('不属于本部门？回退…', 'Not ours? Return…')), field(L('回退原因（必填）', 'Reason (required)'), reason), rb));
        actions.append(disputeDetails(c, reloadAll));
      }
    }
    if (user.role === 'grid_supervisor' && c.state === 'feedback') {
      const note = h('textarea', { rows: '2', maxlength: String(LIMITS.note), id: `chk-note-${c.id}` });
      // Where the check was made, from the phone: it goes into the trail with the note.
      let where = '';
      const placeOut = h('span', { class: 'muted', 'aria-live': 'polite', 'data-testid': 'check-position' });
      const placeBtn = h('button', { type: 'button' }, L('记录当前位置', 'Record my position'));
      placeBtn.addEventListener('click', () => {
        if (!navigator.geolocation) return showError(st, L('此设备不能定位。', 'This device cannot give its position.'));
        navigator.geolocation.getCurrentPosition(
          (pos) => {
            where = L(`（核查位置 ${pos.coords.latitude.toFixed(5)}, ${pos.coords.longitude.toFixed(5)}）`, ` (checked at ${pos.coords.latitude.toFixed(5)}, ${pos.coords.longitude.toFixed(5)})`);
            placeOut.textContent = where;
          },
          () => showError(st, L('未能取得位置（未授权或无信号）。', 'No position (not allowed or no signal).')),
          { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
        );
      });
      const noted = () => `${note.value.trim()}${where}`.trim();
      // Photos taken on site go up first; the check is recorded only when they are all stored.
      const photos = photoPicker(L('核查照片', 'Photos of the check'));
      const checked = async (action: Record<string, unknown>) => {
        const files = photos.files();
        if (files.length) {
          const up = await uploadPhotos(c.id, 'check', files);
          if (up.errors.length) throw new Error(up.errors.join(L('；', '; ')));
        }
        return act(c.id, action);
      };
      const pass = h('button', { type: 'button', class: 'primary' }, L('核查通过', 'Check passed'));
      pass.addEventListener('click', () => {
        const bad = photos.error();
        if (bad) return showError(st, bad);
        void run(checked({ action: 'check_pass', note: noted() }), L('核查通过', 'Check passed'));
      });
      const fail = h('button', { type: 'button', class: 'danger' }, L('核查不通过（返工）', 'Check failed (rework)'));
      fail.addEventListener('click', () => {
        if (!note.value.trim()) return showError(st, L('请填写不通过的原因。', 'Say why the check failed.'));
        const bad = photos.error();
        if (bad) return showError(st, bad);
        void run(checked({ action: 'check_fail', reason: noted() }), L('已退回返工', 'Sent back for rework'));
      });
      actions.append(h('fieldset', null, h('legend', null, L('现场核查', 'On-site check')), field(L('核查意见（不通过时必填）', 'Check note (required when failing)'), note), photos.el, h('p', null, placeBtn, ' ', placeOut), pass, ' ', fail));
    }
    if (user.role === 'grid_supervisor' && c.state === 'received') {
      const note = h('textarea', { rows: '2', maxlength: String(LIMITS.note), id: `self-note-${c.id}` });
      const sb = h('button', { type: 'button' }, L('自行处置', 'Fixed on the spot'));
      sb.addEventListener('click', () => void run(act(c.id, { action: 'self_resolve', note: note.value.trim() }), L('已自行处置', 'Fixed on the spot')));
      actions.append(h('details', null, h('summary', null, L('自行处置…', 'Fix on the spot…')), field(L('说明', 'Note'), note), sb));
    }

    const extra = h('div', { class: 'extra' });
    if (c.supporting_dept_ids.length) extra.append(subtaskSummary(c, isDept && mine, reloadAll));
    if (c.state === 'feedback' || c.state === 'checked') {
      void officialReply(c).then((r) => r && extra.prepend(h('p', { class: 'reply' }, h('strong', null, L('处置反馈：', 'Feedback: ')), r)));
    }
    extra.append(gallery(c.id));

    const due = c.state === 'dispatched' && c.response_due_at ? c.response_due_at : c.due_at;
    const cd = countdown(due);
    // A waiting request pauses the clock: say so, and how much was asked, instead of "no deadline".
    const asked = h('span', { class: 'asked' });
    if (c.pending) {
      cd.text = c.pending === 'extension' ? L('计时暂停（延期申请审批中）', 'paused (extension request waiting)') : L('计时暂停（挂账申请审批中）', 'paused (parking request waiting)');
      void get<AuditEntry[]>(`/api/v1/cases/${c.id}/trail`)
        .then((trail) => {
          const box = requestBox(c, trail);
          if (box) asked.replaceWith(box);
        })
        .catch(() => undefined);
    }
    // What the dispatcher asked for, and why the deadline is shorter than the category's.
    const o = c.dispatch_order;
    const order =
      o && (o.instructions || o.deadline_reason)
        ? h(
            'div',
            { class: 'request-box', 'data-testid': 'dispatch-order' },
            o.instructions ? h('p', null, h('strong', null, L('处置要求：', 'Instructions: ')), h('span', { 'data-testid': 'order-instructions' }, o.instructions)) : null,
            o.deadline_reason
              ? h('p', { 'data-testid': 'order-deadline' }, h('strong', null, L('时限：', 'Deadline: ')), L(`${o.limit_amount} ${clockName(c.clock)}（分类时限 ${o.category_amount}）；理由：`, `${o.limit_amount} ${clockName(c.clock)} (category: ${o.category_amount}); why: `), o.deadline_reason)
              : null,
          )
        : null;
    return h(
      'article',
      { class: `task card ${c.overdue ? 'is-overdue' : ''}`, 'data-number': c.number, 'aria-labelledby': `task-h-${c.id}` },
      h('h3', { id: `task-h-${c.id}` }, h('span', { class: 'num' }, c.number), ' ', stateBadge(c.state), ' ', priorityBadge(c.priority_score, c.priority_level), c.pending ? h('span', { class: 'badge' }, c.pending === 'extension' ? L('延期审批中', 'extension pending') : L('挂账审批中', 'parking pending')) : null),
      h('p', { class: 'case-title' }, c.title),
      h('p', { class: 'case-text' }, c.text),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, c.state === 'dispatched' ? L('签收时限', 'Accept by') : L('处置时限', 'Due')),
        h('dd', null, h('span', { class: `countdown ${cd.overdue ? 'overdue' : cd.soon ? 'soon' : ''}`, 'data-due': c.pending ? undefined : due ?? '', role: 'timer', 'aria-live': 'off' }, cd.text), due ? ` (${fmtTime(due, lang())})` : ''),
        h('dt', null, L('受理时间', 'Received')),
        h('dd', null, fmtTime(c.created_at, lang())),
        h('dt', null, L('报告人', 'Reporter')),
        // Masked for a department's handler, who asks for the number to call back (audited).
        h('dd', null, reporterContact(c, user.role === 'dept_handler', st)),
        h('dt', null, L('分类', 'Category')),
        h('dd', null, categoryPath(c.category_id, catMap)),
        h('dt', null, L('区域', 'Area')),
        h('dd', null, areaPath(c.area_id, areaMap)),
        h('dt', null, L('地址', 'Address')),
        h('dd', null, c.address || '—', c.lat !== null && c.lon !== null ? h('span', { class: 'muted' }, ` (${c.lat.toFixed(5)}, ${c.lon.toFixed(5)})`) : null, mapToggle(c)),
        h('dt', null, L('报告人数', 'Reporters')),
        h('dd', null, String(c.reporter_count)),
        c.supervise_count ? h('dt', null, L('督办', 'Supervised')) : null,
        c.supervise_count ? h('dd', { class: 'overdue' }, String(c.supervise_count)) : null,
      ),
      order,
      asked,
      extra,
      actions,
      st,
    );
  };

  const section = async (id: string, titleZh: string, titleEn: string, query: Record<string, string | number>) => {
    const list = h('div', { class: 'tasks' });
    const count = h('span', { class: 'muted' });
    const refresh = h('button', { type: 'button' }, L('刷新', 'Refresh'));
    const sec = h('section', { 'aria-labelledby': id }, h('h2', { id }, L(titleZh, titleEn), ' ', count, ' ', refresh), list);
    ctx.main.append(sec);
    const load = async () => {
      const rows = await get<Case[]>(`/api/v1/cases${qs({ limit: 100, ...query })}`, { signal: ctx.signal });
      rows.sort((a, b) => (a.due_at ?? '9').localeCompare(b.due_at ?? '9'));
      count.textContent = L(`（${rows.length} 件）`, `(${rows.length})`);
      replace(list, rows.length ? rows.map((c) => taskCard(c)) : h('p', { class: 'muted' }, L('暂无任务。', 'Nothing to do.')));
    };
    loaders.push(load);
    refresh.addEventListener('click', () => void load().catch((e) => replace(list, h('p', { class: 'status error', role: 'alert' }, errorText(e)))));
    await load();
  };

  const pageStatus = statusBox();
  pageStatus.id = 'wb-status';
  // Shown where the user is, however far down the list they work (fixed at the bottom: styles.css).
  ctx.main.append(pageStatus);
  if (isHandler) await section('wb-tasks', '我的任务', 'My tasks', { state: 'dispatched,handling' });
  if (isSupervisor) await section('wb-check', '待核查', 'To check', { state: 'feedback' });
  if (isSupervisor) await (await import('./sensor-verify')).verificationSection(ctx);
  if (isDept) await cohandleSections(ctx);
  if (isDept) await section('wb-waiting', '已反馈待核查', 'Fed back, waiting for the check', { state: 'feedback' });
  if (user.role === 'grid_supervisor') {
    ctx.main.append(patrolForm(cats, areas));
    await section('wb-grid', '网格内新诉求', 'New reports in my grid', { state: 'received', limit: 30 });
  }
  tick();
}
