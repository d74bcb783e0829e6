// Sign-up and login by phone: a one-time code goes to the phone through the notification
// outbox; the first login of a phone creates its resident account.

import { post, setSession, type Me } from '../api';
import { field, h, showError, showOk, statusBox } from '../dom';
import { L } from '../i18n';
import type { Ctx } from '../page';
import { resetRefs } from '../ref';

export async function joinPage(ctx: Ctx): Promise<void> {
  const phone = h('input', { name: 'phone', type: 'tel', inputmode: 'numeric', autocomplete: 'tel', required: true, maxlength: '11', pattern: '1[0-9]{10}' });
  const code = h('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', pattern: '[0-9]{6}' });
  const name = h('input', { name: 'display_name', autocomplete: 'nickname', maxlength: '50' });
  const status = statusBox();
  const send = h('button', { type: 'button', id: 'join-send' }, L('获取验证码', 'Send code'));
  const submit = h('button', { type: 'submit', class: 'primary', id: 'join-submit' }, L('登录 / 注册', 'Log in / sign up'));
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'join-title' },
    h('h1', { id: 'join-title' }, L('手机号登录', 'Log in with your phone')),
    h('p', { class: 'muted' }, L('第一次登录即自动注册。登录后可查看您的全部诉求、接收办理进展、参与社区议事。', 'The first login creates your account. Then you can follow all your reports, get progress messages and take part in your community.')),
    field(L('手机号', 'Mobile number'), phone, L('11 位手机号', '11-digit mainland mobile number')),
    send,
    field(L('验证码', 'Code'), code, L('6 位数字，5 分钟内有效', '6 digits, valid for 5 minutes')),
    field(L('称呼（可选）', 'Name (optional)'), name),
    submit,
    status,
  );
  send.addEventListener('click', async () => {
    if (!/^1\d{10}$/.test(phone.value.trim())) return showError(status, L('请输入 11 位手机号。', 'Enter an 11-digit mobile number.'));
    send.disabled = true;
    try {
      await post('/api/v1/auth/code', { phone: phone.value.trim() }, { anonymous: true });
      showOk(status, L('验证码已发送，请查收短信。', 'The code was sent by SMS.'));
      code.focus();
    } catch (e) {
      showError(status, e);
    } finally {
      send.disabled = false;
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!/^\d{6}$/.test(code.value.trim())) return showError(status, L('请输入 6 位验证码。', 'Enter the 6-digit code.'));
    submit.disabled = true;
    try {
      const body: Record<string, string> = { phone: phone.value.trim(), code: code.value.trim() };
      if (name.value.trim()) body.display_name = name.value.trim();
      const res = await post<{ token: string; user: Me }>('/api/v1/auth/code/verify', body, { anonymous: true });
      setSession(res.token, res.user);
      resetRefs();
      location.hash = '#/me';
    } catch (e) {
      showError(status, e);
      submit.disabled = false;
    }
  });
  ctx.main.append(form);
  phone.focus();
}
