// Administration: taxonomy (list and CSV/XLSX import), the responsibility list (versions, rules,
// publish), time limits, the working calendar, users and roles, and Open311 client keys.

import { errorText } from '../errors';
import { call, get, post, type Area, type Category, type Dept } from '../api';
import { field, fmtTime, h, option, replace, showError, showOk, statusBox } from '../dom';
import { ALL_ROLES, L, clockName, lang, roleName } from '../i18n';
import type { Ctx } from '../page';
import { areaPath, byId, categoryPath, loadAreas, loadCategories, loadDepts } from '../ref';
import { taxonomy } from './admin-taxonomy';
import { categorySearch, categorySelect } from '../widgets';

interface Version {
  id: number;
  note: string;
  created_at: string;
  active: boolean;
}
interface Rule {
  id?: number;
  version_id?: number;
  category_id: number;
  area_id: number;
  lead_dept_id: number;
  supporting_dept_ids: number[];
  legal_basis: string;
}
export interface TimeLimit {
  category_id: number;
  clock: string;
  amount: number;
  remind_before_minutes: number;
}
interface Calendar {
  office_hours: string;
  days: { day: string; kind: string; note: string }[];
}
interface User {
  id: number;
  username: string;
  display_name: string;
  role: string;
  area_id: number | null;
  dept_id: number | null;
  active: boolean;
}
interface Client {
  id: number;
  name: string;
  created_at: string;
  revoked_at: string | null;
  api_key?: string;
}

const TABS = [
  { id: 'taxonomy', zh: '分类体系', en: 'Taxonomy' },
  { id: 'responsibility', zh: '权责清单', en: 'Responsibility list' },
  { id: 'limits', zh: '处置时限', en: 'Time limits' },
  { id: 'calendar', zh: '工作日历', en: 'Working calendar' },
  { id: 'users', zh: '用户与角色', en: 'Users and roles' },
  { id: 'open311', zh: 'Open311 接入', en: 'Open311 clients' },
];

const errText = errorText;

export async function adminPage(ctx: Ctx): Promise<void> {
  let tab = ctx.params.get('tab') ?? 'taxonomy';
  if (!TABS.some((t) => t.id === tab)) tab = 'taxonomy';
  const body = h('div', { class: 'admin-body' });
  const tabButtons = TABS.map((t) =>
    h(
      'button',
      {
        type: 'button',
        class: 'tab',
        'aria-pressed': t.id === tab ? 'true' : 'false',
        onclick: () => {
          history.replaceState(null, '', `#/admin?tab=${t.id}`);
          tab = t.id;
          for (const b of tabButtons) b.setAttribute('aria-pressed', b.dataset.tab === tab ? 'true' : 'false');
          void show();
        },
        dataset: { tab: t.id },
      },
      L(t.zh, t.en),
    ),
  );
  ctx.main.append(h('h1', null, L('系统管理', 'Administration')), h('div', { class: 'tabs', role: 'toolbar', 'aria-label': L('管理功能', 'Sections') }, tabButtons), body);

  const show = async () => {
    replace(body, h('p', { class: 'muted' }, L('加载中…', 'Loading…')));
    try {
      const [cats, depts, areas] = await Promise.all([loadCategories(), loadDepts(), loadAreas()]);
      const r = { cats, depts, areas, catMap: byId(cats), deptMap: byId(depts), areaMap: byId(areas) };
      switch (tab) {
        case 'taxonomy':
          return await taxonomy(body, r);
        case 'responsibility':
          return await responsibility(body, r);
        case 'limits':
          return await limits(body, r);
        case 'calendar':
          return await calendar(body);
        case 'users':
          return await users(body, r);
        case 'open311':
          return await open311(body);
      }
    } catch (e) {
      replace(body, h('p', { class: 'status error', role: 'alert' }, errText(e)));
    }
  };
  await show();
}

export interface RefData {
  cats: Category[];
  depts: Dept[];
  areas: Area[];
  catMap: Map<number, Category>;
  deptMap: Map<number, Dept>;
  areaMap: Map<number, Area>;
}

async function responsibility(body: HTMLElement, r: RefData): Promise<void> {
  const versions = await get<Version[]>('/api/v1/responsibility/versions');
  const active = versions.find((v) => v.active);
  const verSel = h('select', { id: 'rv-sel' }, versions.map((v) => option(v.id, `#${v.id} ${v.note}${v.active ? L('（生效中）', ' (active)') : ''}`, v.id === active?.id)));
  const rulesBox = h('div');
  const deptName = (id: number) => r.deptMap.get(id)?.name ?? `#${id}`;
  const ruleRow = (x: Rule, onRemove?: () => void) =>
    h(
      'tr',
      null,
      h('td', null, categoryPath(x.category_id, r.catMap)),
      h('td', null, areaPath(x.area_id, r.areaMap)),
      h('td', null, deptName(x.lead_dept_id)),
      h('td', null, x.supporting_dept_ids.map(deptName).join('、') || '—'),
      h('td', null, x.legal_basis || '—'),
      onRemove ? h('td', null, h('button', { type: 'button', class: 'link', onclick: onRemove, 'aria-label': L('删除此规则', 'Remove this rule') }, L('删除', 'Remove'))) : null,
    );
  const head = (edit: boolean) =>
    h('thead', null, h('tr', null, [L('分类', 'Category'), L('区域', 'Area'), L('主办', 'Lead'), L('协办', 'Supporting'), L('依据', 'Legal basis'), edit ? L('操作', 'Action') : null].filter(Boolean).map((t) => h('th', { scope: 'col' }, t as string))));
  const loadRules = async () => {
    const rules = await get<Rule[]>(`/api/v1/responsibility/rules?version_id=${Number(verSel.value)}`);
    replace(rulesBox, h('div', { class: 'table-wrap' }, h('table', { class: 'data' }, h('caption', null, L(`规则 ${rules.length} 条`, `${rules.length} rules`)), head(false), h('tbody', null, rules.map((x) => ruleRow(x))))));
  };
  verSel.addEventListener('change', () => void loadRules());

  // Draft of a new version, starting from the active rules.
  const draft: Rule[] = active ? await get<Rule[]>(`/api/v1/responsibility/rules?version_id=${active.id}`) : [];
  const draftBody = h('tbody');
  const renderDraft = () => replace(draftBody, draft.map((x, i) => ruleRow(x, () => { draft.splice(i, 1); renderDraft(); })));
  renderDraft();
  const cat = categorySelect(r.cats, L('选择分类', 'Choose a category'));
  const catSearch = categorySearch(cat);
  const area = h('select', null, r.areas.filter((a) => a.level === 'city' || a.level === 'district' || a.level === 'street').map((a) => option(a.id, a.level === 'city' ? a.name : `${'\u3000'.repeat(a.level === 'district' ? 1 : 2)}${a.name}`)));
  const deptOpts = () => [...r.depts].sort((a, b) => a.name.localeCompare(b.name, 'zh')).map((d) => option(d.id, d.name));
  const lead = h('select', null, deptOpts());
  const sup = h('select', { multiple: true, size: '4' }, deptOpts());
  const basis = h('input', { maxlength: '500' });
  const note = h('input', { maxlength: '200', required: true });
  const st = statusBox();
  const add = h('button', { type: 'button' }, L('加入草稿', 'Add to draft'));
  add.addEventListener('click', () => {
    if (!cat.value) return showError(st, L('请选择分类。', 'Choose a category.'));
    const supporting = [...sup.selectedOptions].map((o) => Number(o.value)).filter((d) => d !== Number(lead.value));
    draft.push({ category_id: Number(cat.value), area_id: Number(area.value), lead_dept_id: Number(lead.value), supporting_dept_ids: supporting, legal_basis: basis.value.trim() });
    renderDraft();
    showOk(st, L('已加入草稿。', 'Added to the draft.'));
  });
  const publish = h('button', { type: 'submit', class: 'primary' }, L('发布新版本', 'Publish new version'));
  const form = h(
    'form',
    { class: 'card' },
    h('h3', null, L('新版本草稿（基于生效版本）', 'Draft of a new version (from the active one)')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data' }, h('caption', null, L('草稿规则', 'Draft rules')), head(true), draftBody)),
    h('fieldset', null, h('legend', null, L('新增规则', 'New rule')), field(L('查找分类', 'Find a category'), catSearch), h('div', { class: 'row2' }, field(L('分类', 'Category'), cat), field(L('区域', 'Area'), area)), h('div', { class: 'row2' }, field(L('主办部门', 'Lead department'), lead), field(L('协办部门', 'Supporting departments'), sup)), field(L('法定依据', 'Legal basis'), basis), add),
    field(L('版本说明（必填）', 'Version note (required)'), note),
    publish,
    st,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!note.value.trim()) return showError(st, L('请填写版本说明。', 'Write a version note.'));
    publish.disabled = true;
    try {
      const v = await post<Version>('/api/v1/responsibility/versions', { note: note.value.trim(), rules: draft.map((x) => ({ category_id: x.category_id, area_id: x.area_id, lead_dept_id: x.lead_dept_id, supporting_dept_ids: x.supporting_dept_ids, legal_basis: x.legal_basis })) });
      showOk(st, L(`已发布版本 #${v.id}，立即生效。`, `Version #${v.id} published and active.`));
      verSel.append(option(v.id, `#${v.id} ${v.note}`, true));
      await loadRules();
    } catch (e) {
      showError(st, errText(e));
    } finally {
      publish.disabled = false;
    }
  });
  replace(
    body,
    h('section', { 'aria-labelledby': 'rl-h' }, h('h2', { id: 'rl-h' }, L('权责清单', 'Responsibility list')), h('div', { class: 'card' }, field(L('版本', 'Version'), verSel), rulesBox), form),
  );
  await loadRules();
}

async function limits(body: HTMLElement, r: RefData): Promise<void> {
  const rows = await get<TimeLimit[]>('/api/v1/time-limits');
  const clocks = ['urgent_hour', 'working_hour', 'working_day', 'natural_day'];
  // Every category, level 1 included (a level-1 limit is the default of its whole branch).
  // Grouped by level 1 and searchable: a taxonomy of hundreds of categories stays usable.
  const cat = categorySelect(r.cats, L('选择分类', 'Choose a category'), { allLevels: true });
  cat.dataset.testid = 'limit-category';
  const catSearch = categorySearch(cat);
  const clock = h('select', null, clocks.map((c) => option(c, clockName(c))));
  const amount = h('input', { type: 'number', min: '1', max: '1000', value: '2' });
  const remind = h('input', { type: 'number', min: '0', max: '100000', value: '120' });
  const st = statusBox();
  cat.addEventListener('change', () => {
    const cur = rows.find((x) => x.category_id === Number(cat.value));
    if (cur) {
      clock.value = cur.clock;
      amount.value = String(cur.amount);
      remind.value = String(cur.remind_before_minutes);
    }
  });
  const btn = h('button', { type: 'submit', class: 'primary' }, L('保存', 'Save'));
  const form = h('form', { class: 'card', novalidate: true }, h('h3', null, L('设置时限', 'Set a time limit')), field(L('查找分类', 'Find a category'), catSearch), h('div', { class: 'row2' }, field(L('分类', 'Category'), cat), field(L('计时方式', 'Clock'), clock)), h('div', { class: 'row2' }, field(L('时限', 'Amount'), amount), field(L('提前提醒（分钟）', 'Remind before (minutes)'), remind)), btn, st);
  const table = h('tbody');
  const render = () =>
    replace(
      table,
      rows.map((x) =>
        h(
          'tr',
          { 'data-category': String(x.category_id) },
          h('td', null, categoryPath(x.category_id, r.catMap)),
          h('td', null, `${x.amount} ${clockName(x.clock)}`),
          h('td', null, String(x.remind_before_minutes)),
          h(
            'td',
            null,
            h(
              'button',
              {
                type: 'button',
                'aria-label': `${L('修改', 'Edit')} ${categoryPath(x.category_id, r.catMap)}`,
                onclick: () => {
                  cat.value = String(x.category_id);
                  cat.dispatchEvent(new Event('change'));
                  amount.focus();
                  amount.select();
                },
              },
              L('修改', 'Edit'),
            ),
          ),
        ),
      ),
    );
  render();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!cat.value) return showError(st, L('请选择分类。', 'Choose a category.'));
    const a = Number(amount.value);
    const rm = Number(remind.value);
    if (!Number.isInteger(a) || a < 1 || a > 1000) return showError(st, L('时限应为 1–1000 的整数。', 'The amount is a whole number from 1 to 1000.'));
    try {
      await call('PUT', `/api/v1/time-limits/${Number(cat.value)}`, { body: { clock: clock.value, amount: a, remind_before_minutes: Number.isFinite(rm) ? rm : 120 } });
      const i = rows.findIndex((x) => x.category_id === Number(cat.value));
      const row = { category_id: Number(cat.value), clock: clock.value, amount: a, remind_before_minutes: rm };
      if (i >= 0) rows[i] = row;
      else rows.push(row);
      render();
      showOk(st, L('已保存，对新派遣的案件生效。', 'Saved; applies to cases dispatched from now on.'));
    } catch (e) {
      showError(st, errText(e));
    }
  });
  replace(
    body,
    h(
      'section',
      { 'aria-labelledby': 'tl-h' },
      h('h2', { id: 'tl-h' }, L('处置时限', 'Time limits')),
      form,
      h('div', { class: 'card table-wrap' }, h('table', { class: 'data' }, h('caption', null, L('各分类时限（未设置的沿用上级分类）', 'Limits per category (others inherit from their parent)')), h('thead', null, h('tr', null, [L('分类', 'Category'), L('时限', 'Limit'), L('提前提醒（分钟）', 'Remind before (min)'), L('操作', 'Action')].map((t) => h('th', { scope: 'col' }, t)))), table)),
    ),
  );
}

/** Office hours as the server takes them: "HH:MM-HH:MM" ranges, comma-separated, in order. */
export function officeHoursOk(v: string): boolean {
  const ranges = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (ranges.length > 6) return false;
  let last = -1;
  for (const r of ranges) {
    const m = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(r);
    if (!m) return false;
    const [a, b, c, d] = m.slice(1).map(Number);
    if (a > 23 || c > 23 || b > 59 || d > 59) return false;
    const from = a * 60 + b;
    const to = c * 60 + d;
    if (from >= to || from < last) return false;
    last = to;
  }
  return ranges.length > 0;
}

async function calendar(body: HTMLElement): Promise<void> {
  const cal = await get<Calendar>('/api/v1/calendar');
  const hours = h('input', { value: cal.office_hours, maxlength: '200', pattern: '[0-9:,\\- ]+' });
  const st = statusBox();
  const remove = new Set<string>();
  const list = h('tbody');
  const render = () =>
    replace(
      list,
      cal.days
        .slice()
        .sort((a, b) => a.day.localeCompare(b.day))
        .map((d) => {
          const cb = h('input', { type: 'checkbox', id: `rm-${d.day}`, checked: remove.has(d.day) });
          cb.addEventListener('change', () => (cb.checked ? remove.add(d.day) : remove.delete(d.day)));
          return h('tr', null, h('td', null, d.day), h('td', null, d.kind === 'holiday' ? L('放假', 'Holiday') : L('调休上班', 'Make-up working day')), h('td', null, d.note), h('td', null, cb, h('label', { for: cb.id, class: 'sr-only' }, `${L('删除', 'Remove')} ${d.day}`)));
        }),
    );
  render();
  const day = h('input', { type: 'date' });
  const kind = h('select', null, option('holiday', L('放假', 'Holiday')), option('workday', L('调休上班', 'Make-up working day')));
  const note = h('input', { maxlength: '100' });
  const adds: { day: string; kind: string; note: string }[] = [];
  const addBtn = h('button', { type: 'button' }, L('添加', 'Add'));
  addBtn.addEventListener('click', () => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day.value)) return showError(st, L('请选择日期。', 'Choose a day.'));
    const entry = { day: day.value, kind: kind.value, note: note.value.trim() };
    adds.push(entry);
    cal.days = cal.days.filter((d) => d.day !== entry.day).concat(entry);
    render();
    showOk(st, L('已加入，保存后生效。', 'Added; save to apply.'));
  });
  const save = h('button', { type: 'submit', class: 'primary' }, L('保存日历', 'Save calendar'));
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    field(L('办公时间', 'Office hours'), hours, L('例如 09:00-12:00,13:30-18:00', 'e.g. 09:00-12:00,13:30-18:00')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data' }, h('caption', null, L('节假日与调休', 'Holidays and make-up working days')), h('thead', null, h('tr', null, [L('日期', 'Day'), L('类型', 'Kind'), L('说明', 'Note'), L('删除', 'Remove')].map((t) => h('th', { scope: 'col' }, t)))), list)),
    h('fieldset', null, h('legend', null, L('新增例外日', 'Add an exception day')), h('div', { class: 'row3' }, field(L('日期', 'Day'), day), field(L('类型', 'Kind'), kind), field(L('说明', 'Note'), note)), addBtn),
    save,
    st,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!officeHoursOk(hours.value.trim())) {
      hours.setAttribute('aria-invalid', 'true');
      hours.focus();
      return showError(st, L('办公时间格式不正确：请写成 09:00-12:00,13:30-18:00 这样的时段，开始早于结束，用逗号分隔。', 'Office hours must be ranges like 09:00-12:00,13:30-18:00, each start before its end, separated by commas.'));
    }
    hours.removeAttribute('aria-invalid');
    try {
      await call('PUT', '/api/v1/calendar', { body: { office_hours: hours.value.trim(), days: adds, remove: [...remove] } });
      cal.days = cal.days.filter((d) => !remove.has(d.day));
      remove.clear();
      adds.length = 0;
      render();
      showOk(st, L('日历已保存，对新的期限立即生效。', 'Calendar saved; new deadlines use it at once.'));
    } catch (e) {
      showError(st, errText(e));
    }
  });
  replace(body, h('section', { 'aria-labelledby': 'cal-h' }, h('h2', { id: 'cal-h' }, L('工作日历', 'Working calendar')), form));
}

async function users(body: HTMLElement, r: RefData): Promise<void> {
  const list = await get<User[]>('/api/v1/users');
  const tbody = h('tbody');
  const st = statusBox();
  const render = () =>
    replace(
      tbody,
      list.map((u) => {
        const btn = h('button', { type: 'button', class: u.active ? 'danger' : undefined, 'aria-label': `${u.active ? L('停用', 'Disable') : L('启用', 'Enable')} ${u.username}` }, u.active ? L('停用', 'Disable') : L('启用', 'Enable'));
        btn.addEventListener('click', async () => {
          try {
            await call('PATCH', `/api/v1/users/${u.id}`, { body: { active: !u.active } });
            u.active = !u.active;
            render();
            showOk(st, `${u.username}: ${u.active ? L('已启用', 'enabled') : L('已停用', 'disabled')}`);
          } catch (e) {
            showError(st, errText(e));
          }
        });
        return h(
          'tr',
          null,
          h('td', null, u.username),
          h('td', null, u.display_name),
          h('td', null, roleName(u.role)),
          h('td', null, u.area_id ? areaPath(u.area_id, r.areaMap) : L('全市', 'City')),
          h('td', null, u.dept_id ? r.deptMap.get(u.dept_id)?.name ?? `#${u.dept_id}` : '—'),
          h('td', null, u.active ? L('启用', 'active') : L('停用', 'disabled')),
          h('td', null, btn),
        );
      }),
    );
  render();
  const username = h('input', { maxlength: '64', autocomplete: 'off', required: true });
  const display = h('input', { maxlength: '64', required: true });
  const password = h('input', { type: 'password', maxlength: '256', autocomplete: 'new-password', required: true });
  const role = h('select', null, ALL_ROLES.map((x) => option(x, roleName(x))));
  const area = h('select', null, option('', L('全市', 'Whole city')), r.areas.filter((a) => a.level !== 'city' && a.level !== 'grid').map((a) => option(a.id, `${'\u3000'.repeat(['district', 'street', 'community'].indexOf(a.level))}${a.name}`)));
  const dept = h('select', null, option('', L('无', 'None')), [...r.depts].sort((a, b) => a.name.localeCompare(b.name, 'zh')).map((d) => option(d.id, d.name)));
  const create = h('button', { type: 'submit', class: 'primary' }, L('创建用户', 'Create user'));
  const form = h(
    'form',
    { class: 'card' },
    h('h3', null, L('新建用户', 'New user')),
    h('div', { class: 'row3' }, field(L('用户名', 'Username'), username), field(L('显示名', 'Display name'), display), field(L('初始密码', 'Initial password'), password)),
    h('div', { class: 'row3' }, field(L('角色', 'Role'), role), field(L('区域范围', 'Area scope'), area), field(L('部门（处置人员必填）', 'Department (for handlers)'), dept)),
    create,
    st,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!username.value.trim() || !display.value.trim() || !password.value) return showError(st, L('请填写用户名、显示名和密码。', 'Fill in username, display name and password.'));
    create.disabled = true;
    try {
      const u = await post<User>('/api/v1/users', {
        username: username.value.trim(),
        display_name: display.value.trim(),
        password: password.value,
        role: role.value,
        area_id: area.value ? Number(area.value) : null,
        dept_id: dept.value ? Number(dept.value) : null,
      });
      list.push(u);
      render();
      form.reset();
      showOk(st, L(`已创建 ${u.username}`, `Created ${u.username}`));
    } catch (e) {
      showError(st, errText(e));
    } finally {
      create.disabled = false;
    }
  });
  replace(
    body,
    h(
      'section',
      { 'aria-labelledby': 'us-h' },
      h('h2', { id: 'us-h' }, L('用户与角色', 'Users and roles')),
      form,
      h('div', { class: 'card table-wrap' }, h('table', { class: 'data' }, h('caption', null, L(`共 ${list.length} 个用户`, `${list.length} users`)), h('thead', null, h('tr', null, [L('用户名', 'Username'), L('显示名', 'Name'), L('角色', 'Role'), L('区域', 'Area'), L('部门', 'Department'), L('状态', 'Status'), L('操作', 'Action')].map((t) => h('th', { scope: 'col' }, t)))), tbody)),
    ),
  );
}

async function open311(body: HTMLElement): Promise<void> {
  const clients = await get<Client[]>('/api/v1/open311/clients');
  const tbody = h('tbody');
  const st = statusBox();
  const render = () =>
    replace(
      tbody,
      clients.map((c) => {
        const btn = c.revoked_at ? null : h('button', { type: 'button', class: 'danger', 'aria-label': `${L('吊销', 'Revoke')} ${c.name}` }, L('吊销', 'Revoke'));
        const cell = h('td', null, btn);
        // Revoking cuts the system off at once: ask first, in place.
        btn?.addEventListener('click', () => {
          const yes = h('button', { type: 'button', class: 'danger', 'data-testid': 'revoke-confirm' }, L('确认吊销', 'Yes, revoke'));
          const no = h('button', { type: 'button' }, L('取消', 'Cancel'));
          no.addEventListener('click', () => {
            replace(cell, btn);
            btn.focus();
          });
          yes.addEventListener('click', async () => {
            yes.disabled = true;
            try {
              const upd = await call<Client>('DELETE', `/api/v1/open311/clients/${c.id}`);
              c.revoked_at = upd.revoked_at ?? new Date().toISOString();
              render();
              showOk(st, L(`已吊销 ${c.name} 的密钥。`, `The key of ${c.name} is revoked.`));
            } catch (e) {
              showError(st, errText(e));
              yes.disabled = false;
            }
          });
          replace(cell, h('span', { class: 'confirm-row', role: 'group', 'aria-label': L(`确认吊销 ${c.name}？`, `Revoke ${c.name}?`) }, L(`吊销后 ${c.name} 将无法再提交，确认？`, `${c.name} will no longer be able to file. Sure?`), yes, no));
          no.focus();
        });
        return h('tr', null, h('td', null, String(c.id)), h('td', null, c.name), h('td', null, fmtTime(c.created_at, lang())), h('td', null, c.revoked_at ? `${L('已吊销', 'revoked')} ${fmtTime(c.revoked_at, lang())}` : L('有效', 'active')), cell);
      }),
    );
  render();
  const name = h('input', { maxlength: '100', required: true });
  const keyOut = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card' }, h('h3', null, L('登记接入系统', 'Register a client')), field(L('名称', 'Name'), name), h('button', { type: 'submit', class: 'primary' }, L('登记并生成密钥', 'Register and create key')), keyOut, st);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!name.value.trim()) return showError(st, L('请填写名称。', 'Enter a name.'));
    try {
      const c = await post<Client>('/api/v1/open311/clients', { name: name.value.trim() });
      clients.push(c);
      render();
      const code = h('code', { 'data-testid': 'api-key' }, c.api_key ?? '');
      const copied = h('span', { role: 'status' });
      const copy = h('button', { type: 'button', 'data-testid': 'copy-key' }, L('复制密钥', 'Copy key'));
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(c.api_key ?? '');
          copied.textContent = L('已复制', 'Copied');
        } catch {
          // No clipboard permission: select the key so Ctrl+C copies it.
          const range = document.createRange();
          range.selectNodeContents(code);
          getSelection()?.removeAllRanges();
          getSelection()?.addRange(range);
          copied.textContent = L('已选中，请按 Ctrl+C 复制', 'Selected; press Ctrl+C to copy');
        }
      });
      replace(keyOut, h('p', { class: 'status ok' }, L('API 密钥（只显示这一次）：', 'API key (shown only this once): '), code, ' ', copy, ' ', copied));
      form.reset();
    } catch (e) {
      showError(st, errText(e));
    }
  });
  replace(
    body,
    h(
      'section',
      { 'aria-labelledby': 'o3-h' },
      h('h2', { id: 'o3-h' }, L('Open311 接入系统', 'Open311 clients')),
      h('p', { class: 'muted' }, L('外部系统凭密钥通过 /open311/v2 提交诉求，诉求进入同一受理流程。', 'Other systems file requests at /open311/v2 with their key; they go through the same intake.')),
      form,
      h('div', { class: 'card table-wrap' }, h('table', { class: 'data' }, h('caption', null, L('已登记的系统', 'Registered clients')), h('thead', null, h('tr', null, ['ID', L('名称', 'Name'), L('登记时间', 'Registered'), L('状态', 'Status'), L('操作', 'Action')].map((t) => h('th', { scope: 'col' }, t)))), tbody)),
    ),
  );
}
