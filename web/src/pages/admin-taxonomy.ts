// The taxonomy tab of the administration page: the category tree, and a CSV/XLSX import in three
// steps — the server's dry run (added / unchanged / rejected rows, the first new paths, which new
// categories would lack a time limit or a responsibility rule), the import, and undoing the latest
// import while nothing uses its categories. The heading's count and the tree follow each step.

import { errorText } from '../errors';
import { get, post, type Category } from '../api';
import { field, fmtTime, h, replace, showError, showOk, statusBox } from '../dom';
import { L, lang } from '../i18n';
import { loadCategories, resetRefs } from '../ref';
import { readTableFile } from '../tables';
import type { RefData } from './admin';

interface ImportReport {
  dry_run: boolean;
  created: number;
  unchanged: number;
  problems: string[];
  new_paths: string[];
  without_limit: string[];
  without_limit_count: number;
  without_rule: string[];
  without_rule_count: number;
  import_id: number | null;
}

interface LastImport {
  import_id: number;
  imported_at: string;
  rows: number;
  categories: number;
}

const path = (p: string) => p.replace(/\//g, ' / ');

/** What the new categories lack, with where to fix it. */
function lacking(rep: ImportReport, applied: boolean): HTMLElement[] {
  const out: HTMLElement[] = [];
  const names = (list: string[], n: number) => list.slice(0, 10).map(path).join(L('、', ', ')) + (n > 10 ? L(` 等 ${n} 个`, ` … (${n})`) : '');
  if (rep.without_limit_count) {
    out.push(
      h(
        'p',
        { class: 'status warn', 'data-testid': 'no-limit' },
        L(`${rep.without_limit_count} 个新分类没有处置时限（也无上级时限可沿用，将按系统默认时限计时）：`, `${rep.without_limit_count} new categor${rep.without_limit_count === 1 ? 'y has' : 'ies have'} no time limit (none to inherit; the default applies): `),
        names(rep.without_limit, rep.without_limit_count),
        applied ? ' ' : '',
        applied ? h('a', { href: '#/admin?tab=limits' }, L('去设置时限', 'Set time limits')) : '',
      ),
    );
  }
  if (rep.without_rule_count) {
    out.push(
      h(
        'p',
        { class: 'status warn', 'data-testid': 'no-rule' },
        L(`${rep.without_rule_count} 个新分类在权责清单中没有派遣规则（派遣员需人工选择部门）：`, `${rep.without_rule_count} new categor${rep.without_rule_count === 1 ? 'y has' : 'ies have'} no responsibility rule (dispatchers choose the department by hand): `),
        names(rep.without_rule, rep.without_rule_count),
        applied ? ' ' : '',
        applied ? h('a', { href: '#/admin?tab=rules' }, L('去添加规则', 'Add rules')) : '',
      ),
    );
  }
  return out;
}

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
  /** The heading's count and the tree as stored now. */
  const refresh = async () => {
    resetRefs();
    const cats = await loadCategories();
    index(cats);
    heading.textContent = L(`分类体系（${cats.length}）`, `Taxonomy (${cats.length})`);
    replace(treeBox, tree(null) ?? h('p', null, L('暂无分类', 'No categories')));
  };

  // Undo of the latest import, offered while one is left.
  const undoBox = h('div', { class: 'card', 'data-testid': 'import-undo' });
  const undoSt = statusBox();
  const drawUndo = async () => {
    const last = await get<LastImport | null>('/api/v1/categories/import/last').catch(() => null);
    if (!last) {
      replace(undoBox, h('h3', null, L('撤销导入', 'Undo an import')), h('p', { class: 'muted' }, L('没有可撤销的导入。', 'No import is left to undo.')), undoSt);
      return;
    }
    const ask = h('button', { type: 'button', 'data-testid': 'undo-import' }, L('撤销上次导入…', 'Undo the latest import…'));
    const confirmBox = h('p', { hidden: true });
    const yes = h('button', { type: 'button', class: 'danger', 'data-testid': 'undo-confirm' }, L('确认撤销', 'Yes, undo it'));
    const no = h('button', { type: 'button' }, L('取消', 'Cancel'));
    confirmBox.append(L(`将删除这次导入新建的 ${last.categories} 个分类（及其时限）。`, `This removes the ${last.categories} categories the import created (and their limits). `), ' ', yes, ' ', no);
    ask.addEventListener('click', () => {
      confirmBox.hidden = false;
      yes.focus();
    });
    no.addEventListener('click', () => {
      confirmBox.hidden = true;
      ask.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        const done = await post<{ import_id: number; removed: number }>('/api/v1/categories/import/undo', {});
        await refresh();
        await drawUndo();
        showOk(undoSt, L(`已撤销导入 #${done.import_id}，删除 ${done.removed} 个分类。`, `Import #${done.import_id} undone; ${done.removed} categories removed.`));
      } catch (e) {
        showError(undoSt, errorText(e));
        yes.disabled = false;
      }
    });
    replace(
      undoBox,
      h('h3', null, L('撤销导入', 'Undo an import')),
      h('p', null, L(`上次导入：${fmtTime(last.imported_at, lang())}，${last.rows} 行，新建 ${last.categories} 个分类。已被案件或规则使用时不能撤销。`, `Latest import: ${fmtTime(last.imported_at, lang())}, ${last.rows} rows, ${last.categories} categories created. It cannot be undone once cases or rules use them.`)),
      ask,
      confirmBox,
      undoSt,
    );
  };

  const file = h('input', { type: 'file', accept: '.csv,.xlsx,.txt,text/csv' });
  const preview = h('div', { 'data-testid': 'import-preview' });
  const st = statusBox();
  const btn = h('button', { type: 'submit', class: 'primary', disabled: true }, L('确认导入', 'Import'));
  let rows: string[][] = [];
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    btn.disabled = true;
    replace(preview);
    if (!f) return;
    if (f.size > 10 * 1024 * 1024) return showError(st, L('文件不能超过 10 MB。', 'The file must be at most 10 MB.'));
    try {
      rows = (await readTableFile(f)).map((row) => row.slice(0, 3).map((c) => c.trim().slice(0, 100)));
      if (rows.length && /一级|level|分类/i.test(rows[0].join(''))) rows = rows.slice(1);
      rows = rows.slice(0, 5000);
      // The server's dry run: the same import in a transaction that is rolled back.
      const dry = await post<ImportReport>('/api/v1/categories/import', { rows, dry_run: true });
      replace(
        preview,
        h('p', null, L(`读取到 ${rows.length} 行，前 5 行：`, `${rows.length} rows read; the first 5:`)),
        h('ul', null, rows.slice(0, 5).map((x) => h('li', null, x.filter(Boolean).join(' / ')))),
        h(
          'p',
          { class: dry.created ? 'status warn' : 'status', 'data-testid': 'import-dry-run', 'data-created': String(dry.created), 'data-unchanged': String(dry.unchanged), 'data-problems': String(dry.problems.length) },
          dry.created || dry.problems.length
            ? L(`预演：新增 ${dry.created} 个分类，${dry.unchanged} 行不变，${dry.problems.length} 行有问题。`, `Dry run: ${dry.created} categories added, ${dry.unchanged} rows unchanged, ${dry.problems.length} rows with problems.`)
            : L(`预演：${dry.unchanged} 行均已存在，导入不会有变化。`, `Dry run: all ${dry.unchanged} rows exist; the import changes nothing.`),
        ),
        dry.new_paths.length ? h('ul', { 'data-testid': 'import-new-paths' }, dry.new_paths.slice(0, 10).map((p) => h('li', null, path(p)))) : '',
        dry.problems.length ? h('ul', { class: 'problems' }, dry.problems.slice(0, 10).map((p) => h('li', null, p))) : '',
        ...lacking(dry, false),
      );
      btn.disabled = dry.created === 0;
    } catch (e) {
      showError(st, `${L('无法预演导入：', 'Cannot preview the import: ')}${errorText(e)}`);
    }
  });
  const form = h(
    'form',
    { class: 'card' },
    h('h3', null, L('导入分类（CSV 或 XLSX：一级、二级、三级）', 'Import categories (CSV or XLSX: level 1, level 2, level 3)')),
    field(L('文件', 'File'), file, L('选择文件后先预演，确认后才导入；已有的分类不会重复创建。', 'Choosing a file shows a dry run first; nothing is stored until you confirm. Existing categories are kept.')),
    preview,
    btn,
    st,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!rows.length) return showError(st, L('请先选择文件。', 'Choose a file first.'));
    btn.disabled = true;
    try {
      const rep = await post<ImportReport>('/api/v1/categories/import', { rows });
      await refresh();
      // The form is clean for the next file; the result stays on screen.
      file.value = '';
      rows = [];
      replace(preview);
      showOk(
        st,
        L(`已导入：新增 ${rep.created} 个分类，${rep.unchanged} 行不变。`, `Imported: ${rep.created} categories added, ${rep.unchanged} rows unchanged.`),
        rep.problems.length ? h('ul', null, rep.problems.slice(0, 20).map((p) => h('li', null, p))) : '',
      );
      st.append(...lacking(rep, true));
      await drawUndo();
    } catch (e) {
      showError(st, errorText(e));
      btn.disabled = false;
    }
  });
  replace(treeBox, tree(null) ?? h('p', null, L('暂无分类', 'No categories')));
  await drawUndo();
  replace(body, h('section', { 'aria-labelledby': 'tx-h' }, heading, form, undoBox, treeBox));
}
