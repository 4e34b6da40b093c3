import { ParleyError } from '@parley/client';
import { h, message } from './dom.ts';
import type { App, Screen } from './main.ts';

/**
 * Sign-in: a user id and a display name (the server's dev sign-in mints the token). A server
 * without dev sign-in takes a token from `npx parley token <user>` instead.
 */
export function signInScreen(app: App): Screen {
  const userId = h('input', {
    id: 'userId',
    name: 'userId',
    'data-testid': 'signin-user',
    placeholder: 'alice',
    autocomplete: 'username',
    required: true,
    pattern: '[A-Za-z0-9_.@\\-]{1,64}',
  });
  const name = h('input', {
    id: 'name',
    name: 'name',
    'data-testid': 'signin-name',
    placeholder: 'Alice Liddell',
  });
  const token = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 3,
    placeholder: 'eyJhbGciOi…  (npx parley token alice --name Alice)',
  });
  const tokenField = h('label', { class: 'field', hidden: true }, h('span', {}, 'Token'), token);
  const error = h('div', { class: 'form-error', role: 'alert' });
  const submit = h(
    'button',
    { class: 'btn primary wide', type: 'submit', 'data-testid': 'signin-submit' },
    'Sign in',
  );
  const form = h(
    'form',
    {
      class: 'card signin-card',
      onsubmit: (e: Event) => {
        e.preventDefault();
        error.textContent = '';
        submit.disabled = true;
        const t = token.value.trim();
        app
          .signIn(userId.value.trim(), name.value.trim() || userId.value.trim(), t || undefined)
          .catch((err: unknown) => {
            submit.disabled = false;
            if (err instanceof ParleyError && err.code === 'not_found' && !t) {
              tokenField.hidden = false;
              error.textContent = 'This server has no dev sign-in: paste a token.';
            } else {
              error.textContent = message(err);
            }
          });
      },
    },
    h('div', { class: 'brand brand-lg' }, h('span', { class: 'logo' }), 'Parley'),
    h('p', { class: 'muted' }, 'Audio and video calls and meetings, on your own server.'),
    h('label', { class: 'field' }, h('span', {}, 'User id'), userId),
    h('label', { class: 'field' }, h('span', {}, 'Display name'), name),
    tokenField,
    error,
    submit,
  );
  return { el: h('main', { class: 'center-screen' }, form), dispose: () => undefined };
}
