// 政策沙盘: a leader builds a scenario from the current settings, runs it in the background with
// progress, and compares it side by side with the history replayed unchanged (charts and table,
// XLSX export). Everything goes through /api/v1/sandbox.

import { get, post, token } from '../api';
import { disposeChart, draw, makeChart, type ECharts } from '../charts';
import { h, replace, showError, statusBox } from '../dom';
import { escapeHtml } from '../escape';
import { L } from '../i18n';
import type { Ctx } from '../page';

interface Estimate {
  mean: number;
  lo: number;
  hi: number;
}

interface Comparison {
  indicator: string;
  label_zh: string;
  observed: number | null;
  baseline: Estimate;
  scenario: Estimate;
  difference: Estimate;
  significant: boolean;
}

interface KeyedRow {
  id: number;
  code: string;
  name: string;
  baseline: Estimate;
  scenario: Estimate;
}

interface Report {
  scenario: string;
  cases: number;
  history_cases: number;
  seeds: number;
  comparison: Comparison[];
  backlog_days: string[];
  backlog_baseline: Estimate[];
  backlog_scenario: Estimate[];
  workload: KeyedRow[];
  overdue_by_category: KeyedRow[];
  overdue_by_area: KeyedRow[];
  simulate_ms: number;
}

interface Run {
  id: number;
  scenario_id: number;
  status: string;
  progress: number;
  result: Report | null;
  error: string | null;
}

interface StoredScenario {
  id: number;
  name: string;
  created_at: string;
}

const LABELS_EN: Record<string, string> = {
  closure_rate: 'Closure rate',
  on_time_closure_rate: 'On-time closure rate',
  rework_rate: 'Rework rate',
  closed: 'Closed cases',
  overdue: 'Overdue cases',
};

function fmt(indicator: string, v: number): string {
  return indicator.endsWith('rate') ? `${(v * 100).toFixed(1)}%` : v.toFixed(1);
}

function est(indicator: string, e: Estimate): string {
  return `${fmt(indicator, e.mean)} [${fmt(indicator, e.lo)}, ${fmt(indicator, e.hi)}]`;
}

async function downloadXlsx(runId: number, box: HTMLElement): Promise<void> {
  try {
    const res = await fetch(`/api/v1/sandbox/runs/${runId}/xlsx`, { headers: { authorization: `Bearer ${token() ?? ''}` } });
    if (!res.ok) throw new Error(`${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: `sandbox-${runId}.xlsx` });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    showError(box, e);
  }
}

function comparisonTable(r: Report): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data', 'data-testid': 'sandbox-comparison' },
      h('caption', null, L(`「${r.scenario}」与历史原样重放对比（${r.seeds} 个随机种子，95% 区间）`, `"${r.scenario}" against the history replayed unchanged (${r.seeds} seeds, 95% intervals)`)),
      h('thead', null, h('tr', null, [L('指标', 'Indicator'), L('实际', 'Real'), L('基线', 'Baseline'), L('方案', 'Scenario'), L('变化', 'Change')].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        r.comparison.map((c) =>
          h(
            'tr',
            { 'data-indicator': c.indicator },
            h('th', { scope: 'row' }, L(c.label_zh, LABELS_EN[c.indicator] ?? c.indicator)),
            h('td', null, c.observed === null ? '—' : fmt(c.indicator, c.observed)),
            h('td', null, est(c.indicator, c.baseline)),
            h('td', null, est(c.indicator, c.scenario)),
            h('td', { class: c.significant ? 'significant' : undefined }, `${est(c.indicator, c.difference)}${c.significant ? ' *' : ''}`),
          ),
        ),
      ),
    ),
    h('p', { class: 'hint' }, L('* 变化的95%置信区间不含0。', '* the change\'s 95% interval excludes zero.')),
  );
}

function keyedTable(rows: KeyedRow[], caption: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data' },
      h('caption', null, caption),
      h('thead', null, h('tr', null, [L('名称', 'Name'), L('基线', 'Baseline'), L('方案', 'Scenario')].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        rows.slice(0, 12).map((row) => h('tr', null, h('th', { scope: 'row' }, row.name), h('td', null, est('n', row.baseline)), h('td', null, est('n', row.scenario)))),
      ),
    ),
  );
}

async function showReport(r: Report, runId: number, out: HTMLElement, charts: ECharts[]): Promise<void> {
  const box = statusBox();
  const btn = h('button', { type: 'button' }, L('导出 Excel', 'Export to Excel'));
  btn.addEventListener('click', () => void downloadXlsx(runId, box));
  const backlogEl = h('div', { class: 'chart', style: { height: '280px' } });
  const workloadEl = h('div', { class: 'chart', style: { height: '320px' } });
  replace(
    out,
    h('h2', null, L('结果', 'Results')),
    h('p', null, L(`模拟 ${r.cases} 件（历史 ${r.history_cases} 件），用时 ${(r.simulate_ms / 1000).toFixed(2)} 秒。`, `${r.cases} simulated cases (history ${r.history_cases}) in ${(r.simulate_ms / 1000).toFixed(2)} s.`)),
    comparisonTable(r),
    btn,
    box,
    h('div', { class: 'side-by-side' }, h('section', null, h('h3', null, L('积压案件', 'Backlog')), backlogEl), h('section', null, h('h3', null, L('部门工作量', 'Workload by department')), workloadEl)),
    keyedTable(r.overdue_by_category, L('分类超期案件数', 'Overdue cases by category')),
    keyedTable(r.overdue_by_area, L('街道超期案件数', 'Overdue cases by street')),
  );
  charts.forEach(disposeChart);
  charts.length = 0;
  const backlog = makeChart(backlogEl, L('每日积压案件：基线与方案', 'Open cases per day: baseline and scenario'));
  const workload = makeChart(workloadEl, L('各部门处置量：基线与方案', 'Feedbacks per department: baseline and scenario'));
  charts.push(backlog, workload);
  const base = L('基线', 'Baseline');
  const scen = L('方案', 'Scenario');
  const top = r.workload.slice(0, 12);
  await Promise.all([
    draw(backlog, {
      tooltip: { trigger: 'axis', formatter: (ps: { seriesName: string; value: number; axisValue: string }[]) => ps.map((p) => `${escapeHtml(p.axisValue)} ${escapeHtml(p.seriesName)}: ${p.value.toFixed(1)}`).join('<br>') },
      legend: { data: [base, scen] },
      grid: { left: 48, right: 16, top: 32, bottom: 32 },
      xAxis: { type: 'category', data: r.backlog_days },
      yAxis: { type: 'value' },
      series: [
        { name: base, type: 'line', showSymbol: false, data: r.backlog_baseline.map((e) => e.mean) },
        { name: scen, type: 'line', showSymbol: false, data: r.backlog_scenario.map((e) => e.mean) },
      ],
    }),
    draw(workload, {
      tooltip: { trigger: 'axis', formatter: (ps: { seriesName: string; value: number; axisValue: string }[]) => ps.map((p) => `${escapeHtml(p.axisValue)} ${escapeHtml(p.seriesName)}: ${p.value.toFixed(1)}`).join('<br>') },
      legend: { data: [base, scen] },
      grid: { left: 150, right: 16, top: 32, bottom: 24 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', data: top.map((w) => w.name), inverse: true },
      series: [
        { name: base, type: 'bar', data: top.map((w) => w.baseline.mean) },
        { name: scen, type: 'bar', data: top.map((w) => w.scenario.mean) },
      ],
    }),
  ]);
}

export async function sandboxPage(ctx: Ctx): Promise<void> {
  const { signal } = ctx;
  const charts: ECharts[] = [];
  ctx.dispose(() => charts.forEach(disposeChart));
  const template = await get<Record<string, unknown>>('/api/v1/sandbox/template?days=30', { signal });
  const scenarios = await get<StoredScenario[]>('/api/v1/sandbox/scenarios', { signal });

  const nameIn = h('input', { id: 'sb-name', value: String(template.name ?? ''), maxlength: '100' });
  const factorIn = h('input', { id: 'sb-limit-factor', type: 'number', step: '0.1', min: '0.1', max: '100', placeholder: '1.0' });
  const deptIn = h('input', { id: 'sb-dept', placeholder: L('部门编码', 'department code') });
  const capIn = h('input', { id: 'sb-capacity', type: 'number', step: '0.1', min: '0.1', max: '100', placeholder: '0.5' });
  const seedsIn = h('input', { id: 'sb-seeds', type: 'number', min: '2', max: '100', value: '10' });
  const jsonIn = h('textarea', { id: 'sb-json', rows: '10', class: 'mono', spellcheck: 'false' });
  jsonIn.value = JSON.stringify(template, null, 2);
  const st = statusBox();
  const progress = h('progress', { max: '1', value: '0', hidden: true, 'aria-label': L('运行进度', 'Run progress') });
  const out = h('div', { 'aria-live': 'polite' });
  const runBtn = h('button', { type: 'button', 'data-testid': 'sandbox-run' }, L('保存并运行', 'Save and run'));

  const scenarioOf = (): Record<string, unknown> => {
    const s = JSON.parse(jsonIn.value) as Record<string, unknown>;
    s.name = nameIn.value.trim() || s.name;
    s.seeds = Number(seedsIn.value) || 10;
    if (factorIn.value) s.time_limit_factor = Number(factorIn.value);
    if (deptIn.value.trim() && capIn.value) s.capacity = [{ dept: deptIn.value.trim(), factor: Number(capIn.value) }];
    return s;
  };

  const poll = async (runId: number): Promise<void> => {
    progress.hidden = false;
    for (;;) {
      if (signal.aborted) return;
      const run = await get<Run>(`/api/v1/sandbox/runs/${runId}`, { signal });
      progress.value = run.progress;
      if (run.status === 'done' && run.result) {
        progress.hidden = true;
        await showReport(run.result, run.id, out, charts);
        return;
      }
      if (run.status === 'failed') {
        progress.hidden = true;
        throw new Error(run.error ?? 'failed');
      }
      await new Promise((r) => setTimeout(r, 400));
    }
  };

  runBtn.addEventListener('click', async () => {
    runBtn.disabled = true;
    try {
      replace(st);
      const stored = await post<StoredScenario>('/api/v1/sandbox/scenarios', scenarioOf(), { signal });
      const run = await post<Run>(`/api/v1/sandbox/scenarios/${stored.id}/runs`, undefined, { signal });
      await poll(run.id);
    } catch (e) {
      showError(st, e);
    } finally {
      runBtn.disabled = false;
    }
  });

  replace(
    ctx.main,
    h('h1', null, L('政策沙盘', 'Policy sandbox')),
    h('p', null, L('用真实历史重放改变后的规则，与原样重放对比；不影响任何真实案件。', 'Replays real history under changed rules and compares it with the history replayed unchanged; no real case is touched.')),
    h(
      'div',
      { class: 'stack' },
      h('label', { for: 'sb-name' }, L('方案名称', 'Scenario name')),
      nameIn,
      h('label', { for: 'sb-limit-factor' }, L('时限倍数（如 2 表示全部时限加倍）', 'Time limit factor (2 doubles every limit)')),
      factorIn,
      h('label', { for: 'sb-dept' }, L('调整产能的部门', 'Department whose capacity changes')),
      deptIn,
      h('label', { for: 'sb-capacity' }, L('产能倍数（相对历史最佳7日处置速度）', 'Capacity factor (of its best 7-day rate)')),
      capIn,
      h('label', { for: 'sb-seeds' }, L('随机种子数', 'Seeds')),
      seedsIn,
      h('label', { for: 'sb-json' }, L('完整方案（当前设置，可编辑）', 'Full scenario (current settings, editable)')),
      jsonIn,
      runBtn,
    ),
    progress,
    st,
    out,
    h('h2', null, L('已保存的方案', 'Stored scenarios')),
    scenarios.length
      ? h('ul', { 'data-testid': 'sandbox-scenarios' }, scenarios.slice(0, 20).map((s) => h('li', null, `#${s.id} ${s.name} · ${s.created_at.slice(0, 16).replace('T', ' ')}`)))
      : h('p', null, L('尚无方案。', 'No scenario yet.')),
  );
}
