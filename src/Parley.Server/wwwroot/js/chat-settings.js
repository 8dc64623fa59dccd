// The disappearing-messages dialog: one timer for the whole chat (group admins, or either side of a 1:1).
import { el } from './util.js';
import { modal, errorLine } from './dialogs.js';

export const DISAPPEAR_CHOICES = [
  { seconds: 0, label: 'Off' },
  { seconds: 86400, label: '24 hours' },
  { seconds: 604800, label: '7 days' },
  { seconds: 7776000, label: '90 days' },
];

/** "24 hours" for a timer, or null when it is off. */
export function disappearLabel(seconds) {
  return seconds ? DISAPPEAR_CHOICES.find(c => c.seconds === seconds)?.label ?? `${Math.round(seconds / 86400)} days` : null;
}

export function openDisappearing(store, chatId) {
  const m = modal('Disappearing messages', { className: 'disappearing' });
  const error = errorLine();
  const chat = store.chats.get(chatId);
  const allowed = !chat?.isGroup || store.isAdmin(chat);
  const current = store.chatSettings(chatId).disappearAfterSeconds ?? 0;
  const name = `disappear-${chatId}`;
  const options = DISAPPEAR_CHOICES.map(choice => {
    const input = el('input', { type: 'radio', name, value: String(choice.seconds) });
    input.checked = choice.seconds === current;
    input.disabled = !allowed;
    input.addEventListener('change', async () => {
      error.textContent = '';
      try {
        await store.updateChatSettings(chatId, { disappearAfterSeconds: choice.seconds });
        m.close();
      } catch (e) {
        error.textContent = e.message;
      }
    });
    return el('label', { class: 'radio-row' }, input, el('span', {}, choice.label));
  });
  m.body.append(
    el('p', { class: 'hint' }, 'New messages in this chat disappear for everyone after the chosen time.'),
    el('fieldset', { class: 'radio-group' }, el('legend', {}, 'Timer'), ...options),
    allowed ? null : el('p', { class: 'hint' }, 'Only group admins can change this.'),
    error);
  m.body.querySelector('input:checked, input')?.focus();
  return m;
}
