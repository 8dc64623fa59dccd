// The menu of one message (reply, edit, delete, info) and the message info dialog.
import { avatar } from './avatar.js';
import { modal } from './dialogs.js';
import { el, formatTime, formatDay } from './util.js';

let openMenu = null;

/** Closes the open menu, if any; focus goes back to its button. */
export function closeMessageMenu(restoreFocus = true) {
  if (!openMenu) return;
  const { node, anchor, onKey, onPointer } = openMenu;
  openMenu = null;
  node.remove();
  document.removeEventListener('keydown', onKey, true);
  document.removeEventListener('pointerdown', onPointer, true);
  if (restoreFocus && anchor?.isConnected) anchor.focus();
}

/**
 * Opens the menu of message m next to anchor. actions: {reply, edit, deleteForMe, deleteForEveryone, info},
 * each called with the message.
 */
export function openMessageMenu(store, m, anchor, actions) {
  closeMessageMenu(false);
  const own = m.senderId === store.me.id;
  const items = [
    !m.deleted && m.type !== 'system' ? ['Reply', () => actions.reply(m)] : null,
    own && !m.deleted && m.type === 'text' ? ['Edit', () => actions.edit(m)] : null,
    own && m.type !== 'system' ? ['Message info', () => actions.info(m)] : null,
    ['Delete for me', () => actions.deleteForMe(m)],
    own && !m.deleted && m.type !== 'system' ? ['Delete for everyone', () => actions.deleteForEveryone(m)] : null,
  ].filter(Boolean);
  const buttons = items.map(([label, run]) => el('button', {
    type: 'button', role: 'menuitem', class: 'menu-item', tabindex: '-1',
    onclick: () => { closeMessageMenu(false); run(); },
  }, label));
  const node = el('div', { class: 'menu', role: 'menu', 'aria-label': 'Message options' }, ...buttons);
  document.body.append(node);
  // Next to the button, kept inside the window.
  const box = (anchor ?? document.body).getBoundingClientRect();
  const width = node.offsetWidth;
  const height = node.offsetHeight;
  const left = Math.max(8, Math.min(box.right - width, window.innerWidth - width - 8));
  const top = box.bottom + height + 8 > window.innerHeight ? Math.max(8, box.top - height - 4) : box.bottom + 4;
  node.style.left = `${left}px`;
  node.style.top = `${top}px`;

  const onKey = event => {
    const index = buttons.indexOf(document.activeElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closeMessageMenu();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      buttons[(index + step + buttons.length) % buttons.length].focus();
    } else if (event.key === 'Tab') {
      closeMessageMenu();
    }
  };
  const onPointer = event => { if (!node.contains(event.target)) closeMessageMenu(false); };
  document.addEventListener('keydown', onKey, true);
  document.addEventListener('pointerdown', onPointer, true);
  openMenu = { node, anchor, onKey, onPointer };
  buttons[0]?.focus();
}

/** Who of the other members has the message, and since when (GET /messages/{id}/receipts). */
export function openMessageInfo(store, m) {
  const dialog = modal('Message info', { className: 'message-info' });
  const list = el('ul', { class: 'receipt-list', 'aria-label': 'Receipts' });
  const status = el('p', { class: 'muted small', role: 'status' }, 'Loading…');
  dialog.body.append(
    el('div', { class: 'info-message' }, el('span', { class: 'bubble own-preview' }, m.deleted ? 'This message was deleted' : m.content || 'Media')),
    status, list);
  const when = ms => (ms ? `${formatDay(ms)}, ${formatTime(ms)}` : '');
  const label = { read: 'Read', delivered: 'Delivered', sent: 'Not delivered yet' };
  store.receipts(m.id).then(receipts => {
    status.textContent = receipts?.length ? '' : 'No one else is in this chat.';
    list.replaceChildren(...(receipts ?? []).map(r => {
      const user = store.users.get(r.userId) ?? { name: 'Someone' };
      return el('li', { class: 'receipt', dataset: { userId: r.userId, status: r.status } },
        avatar(store.api, { name: user.name, avatar: user.photoUrl || user.avatar, seed: r.userId, size: 'sm' }),
        el('span', { class: 'person-text' },
          el('span', { class: 'person-name' }, user.name),
          el('span', { class: 'person-sub' }, r.status === 'sent' ? label.sent : `${label[r.status]} ${when(r.timestamp)}`)));
    }));
  }, error => { status.textContent = error.message; });
}
