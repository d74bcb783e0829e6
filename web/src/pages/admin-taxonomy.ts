// The taxonomy tab of the administration page: the category tree, and a CSV/XLSX import with a
// preview and a dry run against the tree on screen; after the import the heading's count and the
// tree follow at once, and new categories that have no time limit (nor one to inherit) are named.

import { errorText } from '../errors';
import { get, post, type Category } from '../api';
import { field, h, replace, showError, showOk, statusBox } from '../dom';
import { L } from '../i18n';
import { loadCategories, resetRefs } from '../ref';
import { readTableFile } from '../tables';
import type { RefData, TimeLimit } from './admin';

const errText = errorText;

export async function taxonomy(body: HTMLElement, r: RefData): Promise<void> {
  const children = new Map<number | null, Category[]>();
  const index = (cats: Category[]) => {
    children.clear();
    for (const c of cats) {
      const l = children.get(c.parent_id) ?? [];
      l.push(c);
      children.set(c.parent_id, l);
    }
  };
  index(r.cats);
  const heading = h('h2', { id: 'tx-h' }, L(`分类体系（${r.cats.length}）`, `Taxonomy (${r.cats.length})`));
  const treeBox = h('div', { class: 'card' });
  const tree = (parent: number | null): HTMLElement | null => {
    const kids = children.get(parent);
    if (!kids?.length) return null;
    return h('ul', { class: parent === null ? 'tree' : undefined }, kids.map((c) => h('li', null, h('span', { class: 'code' }, c.code), ' ', c.name, tree(c.id))));
  };
  const file = h('input', { type: 'file', accept: '.csv,.xlsx,.txt,text/csv' });
  const preview = h('div');
  const st = statusBox();
  const btn = h('button', { type: 'submit', class: 'primary' }, L('导入', 'Import'));
  let rows: string[][] = [];
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    if (f.size > 10 * 1024 * 1024) return showError(st, L('文件不能超过 10 MB。', 'The file must be at most 10 MB.'));
    try {
      rows = (await readTableFile(f)).map((row) => row.slice(0, 3).map((c) => c.trim().slice(0, 100)));
      if (rows.length && /一级|level|分类/i.test(rows[0].join(''))) rows = rows.slice(1);
      rows = rows.slice(0, 5000);
      // Dry run against the tree on screen: which categories the import would create.
      const known = new Set<string>();
      const pathOf = (c: Category): string => {
        const names: string[] = [];
        for (let x: Category | undefined = c; x; x = x.parent_id !== null ? r.catMap.get(x.parent_id) : undefined) names.unshift(x.name);
        return names.join('/');
      };
      for (const c of r.cats) known.add(pathOf(c));
      const fresh = new Set<string>();
      for (const row of rows) {
        const names = row.filter(Boolean);
        for (let i = 1; i <= names.length; i++) {
          const path = names.slice(0, i).join('/');
          if (!known.has(path)) fresh.add(path);
        }
      }
      const perLevel = [1, 2, 3].map((n) => [...fresh].filter((p) => p.split('/').length === n).length);
      replace(
        preview,
        h('p', null, L(`读取到 ${rows.length} 行，前 5 行：`, `${rows.length} rows read; the first 5:`)),
        h('ul', null, rows.slice(0, 5).map((x) => h('li', null, x.filter(Boolean).join(' / ')))),
        h(
          'p',
          { class: fresh.size ? 'status warn' : 'status', 'data-testid': 'import-dry-run' },
          fresh.size
            ? L(`预演：将新建 ${fresh.size} 个分类（一级 ${perLevel[0]}、二级 ${perLevel[1]}、三级 ${perLevel[2]}），其余已存在。`, `Dry run: ${fresh.size} new categories (level 1: ${perLevel[0]}, level 2: ${perLevel[1]}, level 3: ${perLevel[2]}); the rest exist.`)
            : L('预演：所有分类均已存在，导入不会有变化。', 'Dry run: every category exists; the import changes nothing.'),
          fresh.size ? h('ul', null, [...fresh].slice(0, 10).map((p) => h('li', null, p.replace(/\//g, ' / ')))) : null,
        ),
      );
    } catch (e) {
      showError(st, `${L('无法读取文件：', 'Cannot read the file: ')}${errText(e)}`);
    }
  });
  const form = h(
    'form',
    { class: 'card' },
    h('h3', null, L('导入分类（CSV 或 XLSX：一级、二级、三级）', 'Import categories (CSV or XLSX: level 1, level 2, level 3)')),
    field(L('文件', 'File'), file, L('每行一条分类路径，已有的分类不会重复创建。', 'One category path per row; existing categories are kept.')),
    preview,
    btn,
    st,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!rows.length) return showError(st, L('请先选择文件。', 'Choose a file first.'));
    btn.disabled = true;
    try {
      const rep = await post<{ created: number; problems: string[] }>('/api/v1/categories/import', { rows });
      showOk(st, L(`新建 ${rep.created} 个分类。`, `${rep.created} categories created.`), rep.problems.length ? h('ul', null, rep.problems.slice(0, 20).map((p) => h('li', null, p))) : '');
      // The heading's count and the tree follow the import at once.
      resetRefs();
      const cats = await loadCategories();
      index(cats);
      heading.textContent = L(`分类体系（${cats.length}）`, `Taxonomy (${cats.length})`);
      replace(treeBox, tree(null) ?? h('p', null, L('暂无分类', 'No categories')));
      // New categories with no time limit of their own nor from an ancestor get no deadline:
      // say which, and where to set one.
      const before = new Set(r.cats.map((c) => c.id));
      const limited = new Set((await get<TimeLimit[]>('/api/v1/time-limits')).map((x) => x.category_id));
      const catById = new Map(cats.map((c) => [c.id, c]));
      const covered = (c: Category | undefined): boolean => !!c && (limited.has(c.id) || covered(c.parent_id !== null ? catById.get(c.parent_id) : undefined));
      const bare = cats.filter((c) => !before.has(c.id) && !covered(c));
      if (bare.length) {
        st.append(
          h(
            'p',
            { class: 'status warn', 'data-testid': 'no-limit' },
            L(`${bare.length} 个新分类没有处置时限（也无上级时限可沿用）：`, `${bare.length} new categor${bare.length === 1 ? 'y has' : 'ies have'} no time limit (none to inherit either): `),
            bare.slice(0, 10).map((c) => c.name).join(L('、', ', ')),
            bare.length > 10 ? L(' 等', ' …') : '',
            ' ',
            h('a', { href: '#/admin?tab=limits' }, L('去设置时限', 'Set time limits')),
            L('；也请在权责清单中为它们添加规则。', '; add responsibility rules for them too.'),
          ),
        );
      }
    } catch (e) {
      showError(st, errText(e));
    } finally {
      btn.disabled = false;
    }
  });
  replace(treeBox, tree(null) ?? h('p', null, L('暂无分类', 'No categories')));
  replace(body, h('section', { 'aria-labelledby': 'tx-h' }, heading, form, treeBox));
}
