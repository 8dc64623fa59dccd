// Sign in, create an account (by email, or by phone with a confirmation code), and reset a
// forgotten password (by email or phone). Each step renders its own form, so only its fields exist.
import { ApiError, NetworkError } from './api.js';
import { charCount } from './store.js';
import { el } from './util.js';

/** The server's password lengths (PasswordPolicy), in characters as it counts them: an emoji is one.
 * The inputs carry no minlength/maxlength, which count UTF-16 units and would cut a long paste. */
const PASSWORD_MIN_CHARS = 8;
const PASSWORD_MAX_CHARS = 128;

function passwordProblem(password) {
  const length = charCount(password);
  if (length < PASSWORD_MIN_CHARS) return `The password must be at least ${PASSWORD_MIN_CHARS} characters.`;
  if (length > PASSWORD_MAX_CHARS) return `The password must be at most ${PASSWORD_MAX_CHARS} characters.`;
  return null;
}

export function logo(size = 40) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 48 48');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML = '<rect width="48" height="48" rx="14" fill="#087563"/>'
    + '<path d="M13 15.5A4.5 4.5 0 0 1 17.5 11h13a4.5 4.5 0 0 1 4.5 4.5v10a4.5 4.5 0 0 1-4.5 4.5H22l-6.5 6v-6h0A2.5 2.5 0 0 1 13 27.5z" fill="#fff"/>'
    + '<circle cx="19" cy="20.5" r="2" fill="#087563"/><circle cx="24" cy="20.5" r="2" fill="#087563"/><circle cx="29" cy="20.5" r="2" fill="#087563"/>';
  return svg;
}

/** +15551234567: a plus and 8 to 15 digits (spaces, dashes and brackets are dropped first). */
function phoneNumber(text) {
  const compact = String(text ?? '').replace(/[\s().-]/g, '');
  return /^\+[1-9]\d{7,14}$/.test(compact) ? compact : null;
}

function looksLikePhone(text) {
  return /^[+\d(]/.test(String(text ?? '').trim());
}

function messageOf(e) {
  return e instanceof NetworkError ? 'Cannot reach the server. Check your connection and try again.'
    : e instanceof ApiError ? e.message : 'Something went wrong. Please try again.';
}

function field(id, label, attrs = {}, hint = null) {
  const input = el('input', { id, name: id, 'aria-describedby': ['auth-error', hint ? `${id}-hint` : null].filter(Boolean).join(' '), ...attrs });
  return {
    input,
    node: el('div', { class: 'field' }, el('label', { for: id }, label), input, hint ? el('p', { class: 'hint', id: `${id}-hint` }, hint) : null),
  };
}

/** Renders the sign-in screen into root; onSignedIn runs after a successful sign-in or registration. */
export function renderAuth(root, api, { onSignedIn, notice = null }) {
  const card = el('div', { class: 'auth-card' });
  root.replaceChildren(el('main', { class: 'auth' }, card));
  // What the steps share: the phone and password of a sign-up waiting for its code.
  const pending = { phone: null, password: null };

  const frame = (title, notes, form, footer) => {
    card.replaceChildren(
      el('div', { class: 'brand' }, logo(48), el('h1', {}, 'Parley')),
      el('p', { class: 'tagline' }, 'Simple, reliable messaging.'),
      notes ? el('p', { class: 'notice', role: 'status' }, notes) : null,
      form,
      footer ? el('div', { class: 'auth-footer' }, ...footer) : null);
  };

  /** A form with a heading, its fields, an error line and a submit button; run() does the work. */
  const stepForm = (heading, fields, submitLabel, run) => {
    const error = el('p', { class: 'form-error', role: 'alert', id: 'auth-error' });
    const submit = el('button', { type: 'submit', class: 'button primary wide' }, submitLabel);
    const form = el('form', { class: 'auth-form', 'aria-labelledby': 'auth-heading', novalidate: true },
      el('h2', { id: 'auth-heading' }, heading), ...fields.map(f => f.node ?? f), error, submit);
    form.addEventListener('submit', async event => {
      event.preventDefault();
      error.textContent = '';
      submit.disabled = true;
      submit.setAttribute('aria-busy', 'true');
      try {
        await run(message => { error.textContent = message; });
      } catch (e) {
        error.textContent = messageOf(e);
      } finally {
        submit.disabled = false;
        submit.removeAttribute('aria-busy');
      }
    });
    return form;
  };

  const link = (label, onclick) => el('button', { type: 'button', class: 'link-button', onclick }, label);

  function signIn(notes = notice) {
    const who = field('auth-email', 'Email or phone number', { type: 'text', autocomplete: 'username', required: true, inputmode: 'email' });
    const password = field('auth-password', 'Password', { type: 'password', autocomplete: 'current-password', required: true });
    const form = stepForm('Sign in', [who, password], 'Sign in', async fail => {
      const id = who.input.value.trim();
      if (!id) return fail('Please enter your email or phone number.');
      if (!password.input.value) return fail('Please enter your password.');
      if (looksLikePhone(id)) {
        const phone = phoneNumber(id);
        if (!phone) return fail('Enter the phone number with its country code, like +44 7700 900123.');
        try {
          const answer = await api.signInWithPhone(phone, password.input.value);
          if (answer?.mfaRequired) return askForCode(answer.mfaToken);
        } catch (e) {
          if (e instanceof ApiError && e.status === 403) {
            // Not confirmed yet: the code step, with a new code on request.
            Object.assign(pending, { phone, password: password.input.value });
            return confirm('This number is not confirmed yet. Enter the code we sent, or ask for a new one.');
          }
          throw e;
        }
      } else {
        if (!/^[^@\s]+@[^@\s]+$/.test(id)) return fail('Please enter a valid email address.');
        const answer = await api.login(id, password.input.value);
        if (answer?.mfaRequired) return askForCode(answer.mfaToken);
      }
      onSignedIn();
    });
    frame('Sign in', notes, form, [
      el('p', { class: 'auth-switch' }, link('Forgot password?', () => forgot())),
      el('p', { class: 'auth-switch' }, el('span', {}, 'New to Parley?'), ' ', link('Create an account', () => register('email'))),
    ]);
    who.input.focus();
  }

  function register(by) {
    const name = field('auth-name', 'Your name', { autocomplete: 'name', required: true });
    const id = by === 'email'
      ? field('auth-email', 'Email', { type: 'email', autocomplete: 'username', required: true })
      : field('auth-phone', 'Phone number', { type: 'tel', autocomplete: 'tel', required: true, placeholder: '+44 7700 900123' }, 'With the country code. We send a code to confirm it.');
    const password = field('auth-password', 'Password', { type: 'password', autocomplete: 'new-password', required: true }, 'At least 8 characters.');
    const form = stepForm('Create your account', [name, id, password], 'Create account', async fail => {
      const yourName = name.input.value.trim();
      if (!yourName) return fail('Please enter your name.');
      const problem = passwordProblem(password.input.value);
      if (problem) return fail(problem);
      if (by === 'email') {
        const email = id.input.value.trim();
        if (!email || !id.input.checkValidity()) return fail('Please enter a valid email address.');
        await api.register(email, password.input.value, yourName);
        onSignedIn();
        return;
      }
      const phone = phoneNumber(id.input.value);
      if (!phone) return fail('Enter the phone number with its country code, like +44 7700 900123.');
      await api.signUpWithPhone(phone, password.input.value, yourName);
      Object.assign(pending, { phone, password: password.input.value });
      confirm(`We sent a code to ${phone}.`);
    });
    frame('Create your account', null, form, [
      el('p', { class: 'auth-switch' }, by === 'email' ? link('Use a phone number instead', () => register('phone')) : link('Use an email address instead', () => register('email'))),
      el('p', { class: 'auth-switch' }, el('span', {}, 'Already have an account?'), ' ', link('Sign in', () => signIn(null))),
    ]);
    name.input.focus();
  }

  function confirm(notes) {
    const code = field('auth-code', 'Confirmation code', { inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: '10' });
    const form = stepForm('Confirm your number', [code], 'Confirm', async fail => {
      const value = code.input.value.trim();
      if (!value) return fail('Please enter the code.');
      await api.confirmPhone(pending.phone, value);
      const answer = await api.signInWithPhone(pending.phone, pending.password);
      pending.password = null;
      if (answer?.mfaRequired) return askForCode(answer.mfaToken);
      onSignedIn();
    });
    const status = el('p', { class: 'hint', role: 'status' });
    const resend = link('Send a new code', async () => {
      resend.disabled = true;
      status.textContent = '';
      try {
        await api.resendCode(pending.phone);
        status.textContent = `A new code is on its way to ${pending.phone}.`;
      } catch (e) {
        status.textContent = messageOf(e);
      } finally {
        // A short pause before another request (the server limits them too).
        setTimeout(() => { resend.disabled = false; }, 5_000);
      }
    });
    frame('Confirm your number', notes, form, [
      el('p', { class: 'auth-switch' }, el('span', {}, 'No code?'), ' ', resend),
      status,
      el('p', { class: 'auth-switch' }, link('Back to sign in', () => signIn(null))),
    ]);
    code.input.focus();
  }

  /** Two-step verification is on: the password was right, a code completes the sign-in. */
  function askForCode(mfaToken) {
    const code = field('auth-mfa-code', 'Code from your authenticator app',
      { autocomplete: 'one-time-code', inputmode: 'numeric', required: true, maxlength: '20' },
      'Lost your phone? Enter one of your recovery codes instead.');
    const form = stepForm('Two-step verification', [code], 'Verify', async fail => {
      const value = code.input.value.trim();
      if (!value) return fail('Please enter the code.');
      try {
        await api.completeMfa(mfaToken, value);
      } catch (e) {
        code.input.select();
        throw e;
      }
      onSignedIn();
    });
    frame('Two-step verification', null, form, [
      el('p', { class: 'auth-switch' }, link('Back to sign in', () => signIn(null))),
    ]);
    code.input.focus();
  }

  function forgot() {
    const who = field('auth-email', 'Email or phone number', { type: 'text', autocomplete: 'username', required: true });
    const form = stepForm('Reset your password', [who], 'Send code', async fail => {
      const text = who.input.value.trim();
      let target;
      if (looksLikePhone(text)) {
        const phone = phoneNumber(text);
        if (!phone) return fail('Enter the phone number with its country code, like +44 7700 900123.');
        target = { phoneNumber: phone };
      } else {
        if (!/^[^@\s]+@[^@\s]+$/.test(text)) return fail('Please enter a valid email address.');
        target = { email: text };
      }
      await api.forgotPassword(target);
      reset(target);
    });
    frame('Reset your password', 'We will send a code to your email or phone.', form, [
      el('p', { class: 'auth-switch' }, link('Back to sign in', () => signIn(null))),
    ]);
    who.input.focus();
  }

  function reset(target) {
    const code = field('auth-code', 'Code', { inputmode: 'numeric', autocomplete: 'one-time-code', required: true, maxlength: '10' });
    const password = field('auth-new-password', 'New password', { type: 'password', autocomplete: 'new-password', required: true }, 'At least 8 characters.');
    const form = stepForm('Reset your password', [code, password], 'Change password', async fail => {
      if (!code.input.value.trim()) return fail('Please enter the code.');
      const problem = passwordProblem(password.input.value);
      if (problem) return fail(problem);
      await api.resetPassword(target, code.input.value.trim(), password.input.value);
      signIn('Your password is changed. Sign in with the new one.');
    });
    const where = target.email ?? target.phoneNumber;
    frame('Reset your password', `If ${where} has an account, a code is on its way.`, form, [
      el('p', { class: 'auth-switch' }, link('Back to sign in', () => signIn(null))),
    ]);
    code.input.focus();
  }

  signIn();
}
