// Log in with a username and password; the token goes to sessionStorage.

import { post, setSession, type Me } from '../api';
import { field, h, showError, statusBox } from '../dom';
import { L } from '../i18n';
import { homeOf, mayOpen, type Ctx } from '../page';
import { resetRefs } from '../ref';

export async function loginPage(ctx: Ctx): Promise<void> {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, maxlength: '64', autocapitalize: 'off', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: '256' });
  const status = statusBox();
  const submit = h('button', { type: 'submit', class: 'primary' }, L('登录', 'Log in'));
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, L('登录城治', 'Log in to Urbis')),
    h('p', { class: 'muted' }, L('工作人员和已注册市民使用账号登录。市民无需登录也可以反映问题、查询进度。', 'Staff and registered residents log in here. Residents can report a problem and follow it without logging in.')),
    field(L('用户名', 'Username'), username),
    field(L('密码', 'Password'), password),
    submit,
    status,
    h('p', null, h('a', { href: '#/portal' }, L('不登录，直接反映问题', 'Report a problem without logging in'))),
    h('p', null, h('a', { href: '#/join' }, L('市民用手机号验证码登录或注册', 'Residents: log in or sign up with a phone code'))),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!username.value.trim() || !password.value) {
      showError(status, L('请输入用户名和密码。', 'Enter your username and password.'));
      return;
    }
    submit.disabled = true;
    try {
      const res = await post<{ token: string; user: Me }>('/api/v1/auth/login', { username: username.value.trim(), password: password.value }, { anonymous: true });
      setSession(res.token, res.user);
      resetRefs();
      const next = ctx.params.get('next');
      location.hash = `#/${next && next !== 'login' && mayOpen(next, res.user.role) ? next : homeOf(res.user.role)}`;
    } catch (e) {
      showError(status, e);
      submit.disabled = false;
      password.select();
    }
  });
  ctx.main.append(form);
  username.focus();
}
