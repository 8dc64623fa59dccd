// Sign in and create account.
import { ApiError, NetworkError } from './api.js';
import { el } from './util.js';

export function logo(size = 40) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 48 48');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML = '<rect width="48" height="48" rx="14" fill="#0b8a74"/>'
    + '<path d="M13 15.5A4.5 4.5 0 0 1 17.5 11h13a4.5 4.5 0 0 1 4.5 4.5v10a4.5 4.5 0 0 1-4.5 4.5H22l-6.5 6v-6h0A2.5 2.5 0 0 1 13 27.5z" fill="#fff"/>'
    + '<circle cx="19" cy="20.5" r="2" fill="#0b8a74"/><circle cx="24" cy="20.5" r="2" fill="#0b8a74"/><circle cx="29" cy="20.5" r="2" fill="#0b8a74"/>';
  return svg;
}

/** Renders the sign-in screen into root; onSignedIn runs after a successful sign-in or registration. */
export function renderAuth(root, api, { onSignedIn, notice = null }) {
  let mode = 'signin';
  const error = el('p', { class: 'form-error', role: 'alert', id: 'auth-error' });
  const nameField = el('div', { class: 'field' },
    el('label', { for: 'auth-name' }, 'Your name'),
    el('input', { id: 'auth-name', name: 'name', autocomplete: 'name', maxlength: '100', 'aria-describedby': 'auth-error' }));
  const emailInput = el('input', { id: 'auth-email', name: 'email', type: 'email', autocomplete: 'username', required: true, 'aria-describedby': 'auth-error' });
  const passwordInput = el('input', { id: 'auth-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, minlength: '8', maxlength: '128', 'aria-describedby': 'auth-error password-hint' });
  const passwordHint = el('p', { class: 'hint', id: 'password-hint' }, 'At least 8 characters.');
  const submit = el('button', { type: 'submit', class: 'button primary wide' }, 'Sign in');
  const heading = el('h2', { id: 'auth-heading' }, 'Sign in');
  const switchText = el('span', {}, 'New to Parley?');
  const switchButton = el('button', { type: 'button', class: 'link-button' }, 'Create an account');

  const form = el('form', { class: 'auth-form', 'aria-labelledby': 'auth-heading', novalidate: true },
    heading,
    nameField,
    el('div', { class: 'field' }, el('label', { for: 'auth-email' }, 'Email'), emailInput),
    el('div', { class: 'field' }, el('label', { for: 'auth-password' }, 'Password'), passwordInput, passwordHint),
    error,
    submit,
    el('p', { class: 'auth-switch' }, switchText, ' ', switchButton));

  function setMode(next) {
    mode = next;
    const register = mode === 'register';
    heading.textContent = register ? 'Create your account' : 'Sign in';
    submit.textContent = register ? 'Create account' : 'Sign in';
    nameField.hidden = !register;
    nameField.querySelector('input').required = register;
    passwordHint.hidden = !register;
    passwordInput.autocomplete = register ? 'new-password' : 'current-password';
    switchText.textContent = register ? 'Already have an account?' : 'New to Parley?';
    switchButton.textContent = register ? 'Sign in' : 'Create an account';
    error.textContent = '';
  }
  switchButton.addEventListener('click', () => {
    setMode(mode === 'signin' ? 'register' : 'signin');
    (mode === 'register' ? nameField.querySelector('input') : emailInput).focus();
  });

  form.addEventListener('submit', async event => {
    event.preventDefault();
    error.textContent = '';
    const name = nameField.querySelector('input').value.trim();
    const email = emailInput.value.trim();
    const password = passwordInput.value;
    if (mode === 'register' && !name) return showError('Please enter your name.', nameField.querySelector('input'));
    if (!email || !emailInput.checkValidity()) return showError('Please enter a valid email address.', emailInput);
    if (password.length < 8) return showError('The password must be at least 8 characters.', passwordInput);
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      if (mode === 'register') await api.register(email, password, name);
      else {
        const answer = await api.login(email, password);
        if (answer?.mfaRequired) return askForCode(answer.mfaToken);
      }
      onSignedIn();
    } catch (e) {
      const message = e instanceof NetworkError ? 'Cannot reach the server. Check your connection and try again.'
        : e instanceof ApiError ? e.message : 'Something went wrong. Please try again.';
      showError(message, mode === 'register' && e?.status === 409 ? emailInput : null);
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });

  /** Two-step verification is on: the password was right, a code completes the sign-in. */
  function askForCode(mfaToken) {
    const codeError = el('p', { class: 'form-error', role: 'alert', id: 'mfa-error' });
    const codeInput = el('input', { id: 'auth-mfa-code', name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', required: true, maxlength: '20', 'aria-describedby': 'mfa-error mfa-hint' });
    const verify = el('button', { type: 'submit', class: 'button primary wide' }, 'Verify');
    const codeForm = el('form', { class: 'auth-form', 'aria-labelledby': 'mfa-heading', novalidate: true },
      el('h2', { id: 'mfa-heading' }, 'Two-step verification'),
      el('div', { class: 'field' },
        el('label', { for: 'auth-mfa-code' }, 'Code from your authenticator app'),
        codeInput,
        el('p', { class: 'hint', id: 'mfa-hint' }, 'Lost your phone? Enter one of your recovery codes instead.')),
      codeError,
      verify);
    codeForm.addEventListener('submit', async event => {
      event.preventDefault();
      const code = codeInput.value.trim();
      if (!code) {
        codeError.textContent = 'Please enter the code.';
        codeInput.focus();
        return;
      }
      verify.disabled = true;
      codeError.textContent = '';
      try {
        await api.completeMfa(mfaToken, code);
        onSignedIn();
      } catch (e) {
        codeError.textContent = e instanceof NetworkError ? 'Cannot reach the server. Check your connection and try again.'
          : e instanceof ApiError ? e.message : 'Something went wrong. Please try again.';
        codeInput.select();
      } finally {
        verify.disabled = false;
      }
    });
    form.replaceWith(codeForm);
    codeInput.focus();
  }

  function showError(message, focus) {
    error.textContent = message;
    focus?.focus();
  }

  setMode('signin');
  root.replaceChildren(el('main', { class: 'auth' },
    el('div', { class: 'auth-card' },
      el('div', { class: 'brand' }, logo(48), el('h1', {}, 'Parley')),
      el('p', { class: 'tagline' }, 'Simple, reliable messaging.'),
      notice ? el('p', { class: 'notice', role: 'status' }, notice) : null,
      form)));
  emailInput.focus();
}
