// 物联告警核实: the grid supervisor's verification list on the workbench — alarms raised by sensor
// rules in the supervisor's grid, each with its device, rule, value and verification deadline;
// 属实 (confirm: a case on the sensor channel naming the device's asset) or 误报 (reject: a false
// alarm, counted per rule).

import { errorText } from '../errors';
import { get, post, qs } from '../api';
import { fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang } from '../i18n';
import type { Ctx } from '../page';

interface Alarm {
  id: number;
  device: string;
  device_name: string;
  asset_id: string | null;
  rule: string;
  rule_zh: string;
  state: string;
  value: number | null;
  message: string;
  raised_at: string;
  due_at: string;
  case_id: number | null;
}

const RULE_EN: Record<string, string> = {
  threshold: 'threshold',
  rate: 'rate of change',
  band: 'out of band',
  silence: 'offline',
};

function alarmCard(a: Alarm, reload: () => Promise<void>): HTMLElement {
  const st = statusBox();
  const note = h('input', { type: 'text', name: `alarm-note-${a.id}`, maxlength: '500', 'aria-label': L('核实说明', 'Verification note') });
  const decide = async (verb: 'confirm' | 'reject') => {
    try {
      const done = await post<Alarm>(`/api/v1/sensors/alarms/${a.id}/${verb}`, { note: note.value });
      showOk(st, verb === 'confirm' ? L(`已立案：案件 ${done.case_id}`, `Case ${done.case_id} opened`) : L('已标记为误报', 'Marked as a false alarm'));
      await reload();
    } catch (e) {
      showError(st, e);
    }
  };
  const confirm = h('button', { type: 'button', class: 'primary' }, L('属实，立案', 'Confirm, open a case'));
  const reject = h('button', { type: 'button' }, L('误报', 'False alarm'));
  confirm.addEventListener('click', () => void decide('confirm'));
  reject.addEventListener('click', () => void decide('reject'));
  return h(
    'article',
    { class: 'card task', 'data-testid': `alarm-${a.id}` },
    h('h3', null, `${a.device_name}（${a.device}）`, ' · ', L(a.rule_zh, RULE_EN[a.rule] ?? a.rule)),
    h('p', null, a.message),
    h(
      'p',
      { class: 'muted' },
      L('告警时间：', 'Raised: '),
      fmtTime(a.raised_at, lang()),
      ' · ',
      L('核实时限：', 'Verify by: '),
      h('span', { 'data-due': a.due_at }, fmtTime(a.due_at, lang())),
      a.asset_id ? ` · ${L('部件', 'Asset')} ${a.asset_id}` : '',
    ),
    note,
    h('div', { class: 'actions' }, confirm, ' ', reject),
    st,
  );
}

/** Appends the verification list to the workbench. */
export async function verificationSection(ctx: Ctx): Promise<void> {
  const list = h('div', { class: 'tasks' });
  const count = h('span', { class: 'muted' });
  const refresh = h('button', { type: 'button' }, L('刷新', 'Refresh'));
  ctx.main.append(
    h('section', { 'aria-labelledby': 'wb-sensor' }, h('h2', { id: 'wb-sensor' }, L('物联告警待核实', 'Sensor alarms to verify'), ' ', count, ' ', refresh), list),
  );
  const load = async () => {
    const rows = await get<Alarm[]>(`/api/v1/sensors/alarms${qs({ state: 'pending', limit: 100 })}`, { signal: ctx.signal });
    rows.sort((a, b) => a.due_at.localeCompare(b.due_at));
    count.textContent = L(`（${rows.length} 条）`, `(${rows.length})`);
    replace(list, rows.length ? rows.map((a) => alarmCard(a, load)) : h('p', { class: 'muted' }, L('暂无待核实告警。', 'No alarms to verify.')));
  };
  refresh.addEventListener('click', () => void load().catch((e) => replace(list, h('p', { class: 'status error', role: 'alert' }, errorText(e)))));
  await load().catch((e) => replace(list, h('p', { class: 'status error', role: 'alert' }, errorText(e))));
}
