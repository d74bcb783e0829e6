// The public open-data page (数据开放): every published dataset with its versions (row count,
// suppressed rows, k, content hash), CSV/XLSX downloads, DCAT metadata, and a preview of the
// newest release read through the CKAN datastore_search action. No login.

import { get } from '../api';
import { fmtTime, h, option, replace, showError, statusBox, field } from '../dom';
import { L, lang } from '../i18n';
import type { Ctx } from '../page';

interface Version {
  version: number;
  row_count: number;
  suppressed: number;
  k: number;
  content_hash: string;
  created_at: string;
}
interface Dataset {
  name: string;
  title: string;
  notes: string;
  columns: { id: string; type: string; title: string }[];
  csv: string;
  xlsx: string;
  dcat: string;
  versions: Version[];
}
interface Search {
  success: boolean;
  result: { total: number; records: Record<string, unknown>[] };
}

export async function openDataPage(ctx: Ctx): Promise<void> {
  const status = statusBox();
  const list = h('section', { 'aria-labelledby': 'ds-h' });
  const preview = h('section', { 'aria-labelledby': 'pv-h' });
  ctx.main.append(
    h('h1', null, L('数据开放', 'Open data')),
    h(
      'p',
      null,
      L(
        '这里的数据均已脱敏：不含姓名、电话、证件号码和精确位置；诉求内容经个人信息遮蔽；位置最细到单元网格中心；同月同类不足 k 件的记录逐级并入社区、街道、区，仍不足的不发布。',
        'Everything here is de-identified: no names, phone or ID numbers or exact places; request texts are masked; places are at most a unit grid’s centre; groups of fewer than k records are merged up to community, street and district, and dropped when still too small.',
      ),
    ),
    h('p', null, h('a', { href: '/catalog.jsonld' }, L('DCAT 目录（JSON-LD）', 'DCAT catalogue (JSON-LD)')), ' · ', h('code', null, '/api/3/action/package_list')),
    status,
    list,
    preview,
  );
  const datasets = await get<Dataset[]>('/api/v1/open-data/datasets', { signal: ctx.signal, anonymous: true });
  if (datasets.length === 0) {
    replace(list, h('h2', { id: 'ds-h' }, L('数据集', 'Datasets')), h('p', { class: 'muted' }, L('尚未发布。', 'Nothing published yet.')));
    return;
  }
  replace(
    list,
    h('h2', { id: 'ds-h' }, L(`数据集（${datasets.length}）`, `Datasets (${datasets.length})`)),
    ...datasets.map((d) => {
      const latest = d.versions[0];
      return h(
        'article',
        { class: 'card' },
        h('h3', null, d.title, ' ', h('code', null, d.name)),
        h('p', null, d.notes),
        h(
          'p',
          null,
          L(`第 ${latest.version} 版 · ${latest.row_count} 行 · 不发布 ${latest.suppressed} · k = ${latest.k} · `, `Version ${latest.version} · ${latest.row_count} rows · ${latest.suppressed} withheld · k = ${latest.k} · `),
          fmtTime(latest.created_at, lang()),
        ),
        h('p', { class: 'muted' }, 'SHA-256 ', h('code', null, latest.content_hash)),
        h(
          'p',
          null,
          h('a', { href: d.csv, download: '' }, L(`下载 CSV（${d.title}）`, `Download CSV (${d.title})`)),
          ' · ',
          h('a', { href: d.xlsx, download: '' }, L(`下载 XLSX（${d.title}）`, `Download XLSX (${d.title})`)),
          ' · ',
          h('a', { href: d.dcat }, L(`DCAT 元数据（${d.title}）`, `DCAT metadata (${d.title})`)),
        ),
      );
    }),
  );
  // Preview the first dataset that has rows (a small city may have every case record withheld).
  const first = datasets.find((d) => d.versions[0]?.row_count > 0) ?? datasets[0];
  const select = h('select', { name: 'dataset' }, ...datasets.map((d) => option(d.name, d.title, d.name === first.name)));
  const table = h('div', { class: 'table-wrap' });
  const load = async () => {
    const d = datasets.find((x) => x.name === select.value) ?? datasets[0];
    const res = await get<Search>(`/api/3/action/datastore_search?resource_id=${encodeURIComponent(d.name)}-data&limit=20`, { signal: ctx.signal, anonymous: true });
    replace(
      table,
      h(
        'table',
        { class: 'data' },
        h('caption', null, L(`${d.title}：前 20 行，共 ${res.result.total} 行`, `${d.title}: first 20 of ${res.result.total} rows`)),
        h('thead', null, h('tr', null, ...d.columns.map((c) => h('th', { scope: 'col' }, c.title)))),
        h(
          'tbody',
          null,
          ...res.result.records.map((r) => h('tr', null, ...d.columns.map((c) => h('td', null, r[c.id] === null || r[c.id] === undefined ? '' : String(r[c.id]))))),
        ),
      ),
    );
  };
  select.addEventListener('change', () => void load().catch((e) => showError(status, e)));
  replace(preview, h('h2', { id: 'pv-h' }, L('预览', 'Preview')), field(L('数据集', 'Dataset'), select), table);
  await load();
}
