// One-stop answers (一次性答复) for the hotline: the knowledge base is searched as the operator
// types; one answer, read out and confirmed, records the 咨询 and closes it at once — Tab to the
// first answer's button, Enter. Consultations are counted apart from cases.

import { get, post, qs } from '../api';
import { debounce, field, h, replace, showError, showOk, statusBox } from '../dom';
import { L } from '../i18n';
import type { Ctx } from '../page';

interface Answer {
  id: number;
  question: string;
  answer: string;
  keywords: string[];
  valid_to: string | null;
  score: number | null;
}

const TYPES: [string, string][] = [
  ['咨询', 'Enquiry'],
  ['建议', 'Suggestion'],
];

export async function answersPage(ctx: Ctx): Promise<void> {
  const question = h('input', { id: 'kb-q', type: 'search', maxlength: '500', autocomplete: 'off' });
  const type = h('select', { id: 'kb-type' }, TYPES.map(([zh, en]) => h('option', { value: zh }, L(zh, en))));
  const channel = h('select', { id: 'kb-channel' }, h('option', { value: 'hotline' }, L('热线', 'Hotline')), h('option', { value: 'web' }, L('网站', 'Web')));
  const results = h('ol', { class: 'kb-results', 'aria-live': 'polite', 'aria-label': L('匹配的答复', 'Matching answers') });
  const counts = h('p', { class: 'muted', id: 'kb-counts' });
  const status = statusBox();
  const loadCounts = async () => {
    const rows = await get<{ appeal_type: string; count: number }[]>('/api/v1/consultations/counts', { signal: ctx.signal });
    const names: Record<string, [string, string]> = { enquiry: ['咨询', 'Enquiries'], suggestion: ['建议', 'Suggestions'] };
    const text = rows.map((r) => `${names[r.appeal_type] ? L(...names[r.appeal_type]) : r.appeal_type} ${r.count}`).join(' · ') || '0';
    replace(counts, L(`近 30 天即时答复（不计入案件）：${text}`, `Answered at intake in 30 days (not cases): ${text}`));
  };
  const record = async (a: Answer, btn: HTMLButtonElement) => {
    btn.disabled = true;
    try {
      await post('/api/v1/consultations', { kb_id: a.id, appeal_type: type.value, question: question.value.trim() || a.question, channel: channel.value });
      showOk(status, L('已答复并办结：', 'Answered and closed: '), a.question);
      question.value = '';
      replace(results);
      question.focus();
      await loadCounts();
    } catch (e) {
      showError(status, e);
      btn.disabled = false;
    }
  };
  const search = debounce(async () => {
    const q = question.value.trim();
    if (!q) return replace(results);
    try {
      const found = await get<Answer[]>(`/api/v1/kb/search${qs({ q, limit: 5 })}`, { signal: ctx.signal });
      replace(
        results,
        found.length
          ? found.map((a) => {
              const btn = h('button', { type: 'button', class: 'primary kb-use', 'data-id': a.id }, L('用此答复并办结', 'Answer and close'));
              btn.addEventListener('click', () => void record(a, btn));
              return h('li', { class: 'card' }, h('h3', null, a.question), h('p', null, a.answer), btn);
            })
          : h('li', { class: 'muted' }, L('知识库中没有匹配的答复，请转为诉求受理。', 'No answer matches; take it as an appeal.')),
      );
      results.dataset.loaded = q;
    } catch (e) {
      showError(status, e);
    }
  }, 250);
  question.addEventListener('input', () => search());
  ctx.dispose(() => search.cancel());
  ctx.main.append(
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'kb-title' },
      h('h1', { id: 'kb-title' }, L('一次性答复', 'One-stop answers')),
      h('p', { class: 'muted' }, L('输入来电人的问题，知识库即时给出政策答复；按 Tab 选中答复、回车即可答复并办结。', 'Type the caller’s question; matching policy answers appear at once. Tab to an answer and press Enter to answer and close.')),
      counts,
      field(L('诉求类型', 'Appeal type'), type),
      field(L('渠道', 'Channel'), channel),
      field(L('来电问题', 'Question'), question),
      results,
      status,
    ),
  );
  await loadCounts();
  question.focus();
}
