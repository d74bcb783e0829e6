// Parts of a case shown on the dispatch console and the workbench, built from its trail: the
// trail itself with names and notes, the open extension/parking request (who asked, how much,
// why) and the text a shift lead closes on (the feedback and the check note); and the reporter's
// contact, masked until the handler asks for the number (an audited read).

import { post, type AuditEntry, type Case } from '../api';
import { fmtTime, h, replace, showError } from '../dom';
import { L, actionName, appealTypeName, clockName, lang, roleName } from '../i18n';

/** What a step says in words: its note or reason, and an extension's amount. */
export function stepNote(t: AuditEntry): string {
  const d = t.detail ?? {};
  const text = typeof d.text === 'string' ? d.text : typeof d.note === 'string' ? d.note : typeof d.reason === 'string' ? d.reason : '';
  return text.trim();
}

/** The trail, oldest first: time · name (role) · action, and the note below. */
export function trailList(trail: AuditEntry[]): HTMLElement {
  return h(
    'ol',
    { class: 'trail' },
    trail.map((t) => {
      const note = stepNote(t);
      const amount = t.action === 'request_extension' && typeof t.detail?.amount === 'number' ? L(`（申请延长 ${t.detail.amount}）`, ` (asks for ${t.detail.amount} more)`) : '';
      // A dispatch names its deadline when the dispatcher chose one, and why it is shorter.
      const d = t.detail ?? {};
      const deadline =
        t.action === 'dispatch' && typeof d.limit_amount === 'number' && typeof d.category_limit === 'number'
          ? d.limit_amount < d.category_limit
            ? L(`（时限 ${d.limit_amount}，短于分类时限 ${d.category_limit}：${String(d.deadline_reason ?? '')}）`, ` (deadline ${d.limit_amount}, shorter than the category's ${d.category_limit}: ${String(d.deadline_reason ?? '')})`)
            : L(`（时限 ${d.limit_amount}）`, ` (deadline ${d.limit_amount})`)
          : '';
      // The appeal type (投诉/求助/…) the hotline or the portal filed the case as.
      const kind = t.action === 'receive' && typeof t.detail?.appeal_type === 'string' ? `（${appealTypeName(t.detail.appeal_type)}）` : '';
      const decided = t.action === 'decide' && typeof t.detail?.approve === 'boolean' ? (t.detail.approve ? L('：批准', ': approved') : L('：驳回', ': rejected')) : '';
      return h(
        'li',
        { 'data-action': t.action },
        `${fmtTime(t.at, lang())} · `,
        h('span', { class: 'who' }, t.actor_name ? `${t.actor_name}（${roleName(t.actor_role)}）` : roleName(t.actor_role)),
        ` · ${actionName(t.action)}${kind}${decided}${amount}${deadline}`,
        note ? h('span', { class: 'note' }, note) : null,
      );
    }),
  );
}

/** The latest step of one of `actions`, if any. */
export function lastStep(trail: AuditEntry[], ...actions: string[]): AuditEntry | undefined {
  for (let i = trail.length - 1; i >= 0; i--) if (actions.includes(trail[i].action)) return trail[i];
  return undefined;
}

/** The open request as the shift lead decides it: kind, amount asked, reason, who and when. */
export function requestBox(c: Case, trail: AuditEntry[]): HTMLElement | null {
  if (!c.pending) return null;
  const ext = c.pending === 'extension';
  const step = lastStep(trail, ext ? 'request_extension' : 'request_park');
  const amount = step && typeof step.detail?.amount === 'number' ? step.detail.amount : null;
  return h(
    'div',
    { class: 'request-box', 'data-testid': 'pending-request' },
    h('p', null, h('strong', null, ext ? L('延期申请', 'Extension request') : L('挂账申请', 'Parking request')), step ? ` · ${step.actor_name ?? roleName(step.actor_role)} · ${fmtTime(step.at, lang())}` : ''),
    ext ? h('p', { 'data-testid': 'request-amount' }, L('申请延长：', 'Asks for: '), amount !== null ? `${amount} ${clockName(c.clock)}` : '—', c.limit_amount ? L(`（原时限 ${c.limit_amount} ${clockName(c.clock)}）`, ` (limit now ${c.limit_amount} ${clockName(c.clock)})`) : '') : null,
    h('p', { 'data-testid': 'request-reason' }, L('理由：', 'Reason: '), step ? stepNote(step) || '—' : '—'),
  );
}

/** What the shift lead closes on: the handler's feedback and the supervisor's check note. */
export function closingBox(trail: AuditEntry[]): HTMLElement | null {
  const fb = lastStep(trail, 'feedback', 'self_resolve');
  const check = lastStep(trail, 'check_pass');
  if (!fb && !check) return null;
  return h(
    'div',
    { class: 'request-box', 'data-testid': 'closing-basis' },
    fb ? h('p', null, h('strong', null, L('处置反馈：', 'Feedback: ')), stepNote(fb) || '—', ` (${fb.actor_name ?? roleName(fb.actor_role)})`) : null,
    check ? h('p', null, h('strong', null, L('核查意见：', 'Check note: ')), stepNote(check) || L('（无）', '(none)'), ` (${check.actor_name ?? roleName(check.actor_role)})`) : null,
  );
}

interface ReporterContact {
  reporter_name: string | null;
  reporter_phone: string | null;
}

/**
 * The reporter as the card shows them: name and phone as the server sends them (masked for a
 * department's handler), and, where the phone is masked and `mayReveal`, a "查看来电人电话" button
 * that asks POST /api/v1/cases/{id}/contact (written to the audit log) and shows the number in
 * place as a tel: link. Errors go to `status`.
 */
export function reporterContact(c: Case, mayReveal: boolean, status: HTMLElement): HTMLElement {
  const shown = `${c.reporter_name} ${c.reporter_phone}`.trim();
  const el = h('span', { class: 'reporter', 'data-testid': 'reporter' }, shown || '—');
  if (!mayReveal || !c.reporter_phone.includes('*')) return el;
  const btn = h('button', { type: 'button', class: 'link', 'data-testid': 'reveal-phone' }, L('查看来电人电话', 'Show the caller’s phone'));
  btn.addEventListener('click', () => {
    btn.disabled = true;
    void post<ReporterContact>(`/api/v1/cases/${c.id}/contact`, {})
      .then((r) => {
        const phone = r.reporter_phone ?? '';
        replace(
          el,
          r.reporter_name ? `${r.reporter_name} ` : '',
          phone ? h('a', { href: `tel:${phone.replace(/[^\d+]/g, '')}`, 'data-testid': 'reporter-phone' }, phone) : L('（未留电话）', '(no phone given)'),
        );
        el.dataset.revealed = '1';
      })
      .catch((e) => {
        btn.disabled = false;
        showError(status, e);
      });
  });
  return h('span', null, el, ' ', btn);
}
