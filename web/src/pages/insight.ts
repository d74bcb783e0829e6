// 民情与考核: the leader's page of hot spots, surge alerts, 每月一题 (each district's top problem of the
// last 30 days) with links to the cases, and the assessment ranking of a frozen month with its XLSX export.

import { get, qs, token, type Area } from '../api';
import { h, replace, showError, statusBox } from '../dom';
import { L } from '../i18n';
import type { Ctx } from '../page';

interface Hotspot {
  label: string;
  terms: string[];
  place: string | null;
  heat: number;
  case_ids: number[];
  reporters: number;
  support: number;
  first: string;
  last: string;
  negative: number;
  urgent: number;
  repeated: number;
  dissatisfied: number | null;
}

interface SurgeAlert {
  category_name: string;
  area_name: string;
  day: string;
  observed: number;
  expected: number;
  p_value: number;
}

interface Scheme {
  id: number;
  code: string;
  version: number;
  name: string;
}

interface RankedUnit {
  rank: number | null;
  previous_month: number | null;
  previous_year: number | null;
  result: { unit_id: number; unit_name: string; cases: number; score: number | null; grade: string | null; revision: number };
}

interface Ranking {
  units: RankedUnit[];
  distribution: Record<string, number>;
  red: number[];
  black: number[];
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const day = (iso: string) => iso.slice(0, 10);

function caseLinks(ids: number[]): HTMLElement {
  return h(
    'span',
    { class: 'case-links' },
    ids.slice(0, 6).map((id) => [h('a', { href: `#/dispatch?view=open&case=${id}` }, `#${id}`), ' ']),
    ids.length > 6 ? L(`等${ids.length}件`, `${ids.length} in all`) : '',
  );
}

function hotspotTable(spots: Hotspot[], caption: string): HTMLElement {
  if (!spots.length) return h('p', null, L('暂无热点。', 'No hot spots.'));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data', 'data-testid': 'hotspots' },
      h('caption', null, caption),
      h('thead', null, h('tr', null, [L('热度', 'Heat'), L('热点', 'Hot spot'), L('案件', 'Cases'), L('反映人', 'Reporters'), L('时间', 'Dates'), L('负面/紧急/重复/不满意', 'Negative/urgent/repeated/dissatisfied'), L('案件链接', 'Cases')].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        null,
        spots.map((s) =>
          h(
            'tr',
            null,
            h('td', null, s.heat.toFixed(1)),
            h('td', null, s.label),
            h('td', null, String(s.case_ids.length)),
            h('td', null, String(s.reporters)),
            h('td', null, `${day(s.first)} – ${day(s.last)}`),
            h('td', null, `${pct(s.negative)} / ${pct(s.urgent)} / ${pct(s.repeated)} / ${s.dissatisfied === null ? '—' : pct(s.dissatisfied)}`),
            h('td', null, caseLinks(s.case_ids)),
          ),
        ),
      ),
    ),
  );
}

function section(id: string, title: string, ...body: (Node | string)[]): HTMLElement {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

async function downloadXlsx(path: string, box: HTMLElement): Promise<void> {
  try {
    const res = await fetch(path, { headers: { authorization: `Bearer ${token() ?? ''}` } });
    if (!res.ok) throw new Error(`${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: 'assessment.xlsx' });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    showError(box, e);
  }
}

function rankingView(r: Ranking, exportPath: string): HTMLElement {
  const box = statusBox();
  const name = (id: number) => r.units.find((u) => u.result.unit_id === id)?.result.unit_name ?? String(id);
  const change = (now: number | null, then: number | null) => (now !== null && then !== null ? (now - then >= 0 ? '+' : '') + (now - then).toFixed(2) : '—');
  const btn = h('button', { type: 'button' }, L('导出 Excel', 'Export to Excel'));
  btn.addEventListener('click', () => void downloadXlsx(exportPath, box));
  return h(
    'div',
    null,
    h('p', null, L('等级分布：', 'Grades: '), Object.entries(r.distribution).map(([g, n]) => `${g === '-' ? L('未评级', 'ungraded') : g} ${n}`).join(L('，', ', '))),
    h('p', null, L('红榜：', 'Red list: '), r.red.map(name).join(L('、', ', ')) || '—', L('；黑榜：', '; black list: '), r.black.map(name).join(L('、', ', ')) || '—'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data', 'data-testid': 'ranking' },
        h('caption', null, L('考核排名', 'Ranking')),
        h('thead', null, h('tr', null, [L('排名', 'Rank'), L('单位', 'Unit'), L('案件数', 'Cases'), L('得分', 'Score'), L('等级', 'Grade'), L('环比', 'vs last month'), L('同比', 'vs last year'), L('版本', 'Revision')].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          r.units.map((u) =>
            h(
              'tr',
              null,
              h('td', null, u.rank === null ? '—' : String(u.rank)),
              h('td', null, u.result.unit_name),
              h('td', null, String(u.result.cases)),
              h('td', null, u.result.score === null ? '—' : u.result.score.toFixed(2)),
              h('td', null, u.result.grade ?? L('未评级', 'ungraded')),
              h('td', null, change(u.result.score, u.previous_month)),
              h('td', null, change(u.result.score, u.previous_year)),
              h('td', null, String(u.result.revision)),
            ),
          ),
        ),
      ),
    ),
    btn,
    box,
  );
}

export async function insightPage(ctx: Ctx): Promise<void> {
  const { signal } = ctx;
  const hotBox = h('div', null, L('加载中…', 'Loading…'));
  const surgeBox = h('div', null, L('加载中…', 'Loading…'));
  const monthlyBox = h('div', null, L('加载中…', 'Loading…'));
  const assessBox = h('div');
  replace(
    ctx.main,
    h('h1', null, L('民情与考核', 'Insight and assessment')),
    section('hot-h', L('近30天热点', 'Hot spots, last 30 days'), hotBox),
    section('surge-h', L('激增预警（类别 × 街道）', 'Surge alerts (category × street)'), surgeBox),
    section('monthly-h', L('每月一题（各区近30天首要问题）', 'Problem of the month (per district, last 30 days)'), monthlyBox),
    section('assess-h', L('绩效考核', 'Assessment'), assessBox),
  );
  const [spots, surges, areas, schemes] = await Promise.all([
    get<Hotspot[]>(`/api/v1/insight/hotspots${qs({ days: 30, top: 10 })}`, { signal }).catch((e) => e as Error),
    get<SurgeAlert[]>('/api/v1/insight/surges', { signal }).catch((e) => e as Error),
    get<Area[]>('/api/v1/areas', { signal }).catch(() => [] as Area[]),
    get<Scheme[]>('/api/v1/assessment/schemes', { signal }).catch(() => [] as Scheme[]),
  ]);
  if (spots instanceof Error) showError(hotBox, spots);
  else replace(hotBox, hotspotTable(spots, L('按热度排序', 'By heat')));
  if (surges instanceof Error) showError(surgeBox, surges);
  else if (!surges.length) replace(surgeBox, h('p', null, L('今日无激增。', 'No surge today.')));
  else
    replace(
      surgeBox,
      h(
        'ul',
        { 'data-testid': 'surges' },
        surges.map((s) => h('li', null, `${s.day} ${s.area_name} · ${s.category_name}：${L('实际', 'observed')} ${s.observed}，${L('预期', 'expected')} ${s.expected.toFixed(1)}（p = ${s.p_value.toExponential(1)}）`)),
      ),
    );
  const districts = areas.filter((a) => a.level === 'district').slice(0, 30);
  const monthly = await Promise.all(
    districts.map((d) => get<Hotspot[]>(`/api/v1/insight/hotspots${qs({ area_id: d.id, days: 30, top: 1 })}`, { signal }).then((s) => [d, s[0]] as const).catch(() => [d, undefined] as const)),
  );
  replace(
    monthlyBox,
    monthly.length
      ? h('ul', null, monthly.map(([d, s]) => h('li', null, `${d.name}：`, s ? [`${s.label}（${s.case_ids.length}${L('件，热度', ' cases, heat ')} ${s.heat.toFixed(1)}）`, ' ', caseLinks(s.case_ids)] : L('无', 'none'))))
      : h('p', null, L('没有区县。', 'No districts.')),
  );

  const schemeSel = h('select', { id: 'as-scheme' }, schemes.map((s) => h('option', { value: String(s.id) }, `${s.name} v${s.version}`)));
  const now = new Date();
  const lastMonth = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  const periodIn = h('input', { id: 'as-period', type: 'month', value: `${lastMonth.getFullYear()}-${String(lastMonth.getMonth() + 1).padStart(2, '0')}` });
  const kindSel = h(
    'select',
    { id: 'as-kind' },
    [
      ['department', L('部门', 'Departments')],
      ['district', L('区县', 'Districts')],
      ['street', L('街道', 'Streets')],
      ['community', L('社区', 'Communities')],
      ['grid', L('网格', 'Grids')],
      ['responsibility_grid', L('责任网格', 'Responsibility grids')],
      ['supervisor', L('网格监督员', 'Grid supervisors')],
    ].map(([v, t]) => h('option', { value: v }, t)),
  );
  const show = h('button', { type: 'button' }, L('查看排名', 'Show ranking'));
  const out = h('div', { 'aria-live': 'polite' });
  const st = statusBox();
  show.addEventListener('click', async () => {
    const q = qs({ scheme_id: schemeSel.value, period: periodIn.value, unit_kind: kindSel.value });
    try {
      const r = await get<Ranking>(`/api/v1/assessment/ranking${q}`, { signal });
      replace(st);
      replace(out, rankingView(r, `/api/v1/assessment/export${q}`));
    } catch (e) {
      replace(out);
      showError(st, e);
    }
  });
  replace(
    assessBox,
    schemes.length
      ? h(
          'div',
          { class: 'form-row' },
          h('label', { for: 'as-scheme' }, L('方案', 'Scheme')),
          schemeSel,
          h('label', { for: 'as-period' }, L('月份', 'Month')),
          periodIn,
          h('label', { for: 'as-kind' }, L('考核对象', 'Units')),
          kindSel,
          show,
        )
      : h('p', null, L('尚无考核方案（由领导或管理员通过 API 建立）。', 'No assessment scheme yet (leaders or admins create one through the API).')),
    st,
    out,
  );
}
