// The conversation's options menu: mute, pin and archive, stored on the server per user
// (GET/PUT /chats/{id}/settings), so every device agrees.
import { el } from './util.js';

let open = null;

function close(restoreFocus = true) {
  if (!open) return;
  const { node, anchor, onKey, onPointer } = open;
  open = null;
  node.remove();
  document.removeEventListener('keydown', onKey, true);
  document.removeEventListener('pointerdown', onPointer, true);
  anchor?.setAttribute('aria-expanded', 'false');
  if (restoreFocus && anchor?.isConnected) anchor.focus();
}

export function closeChatOptions() {
  close(false);
}

/** Opens the options of a chat under anchor. */
export function openChatOptions(store, chatId, anchor, { onError, onArchived } = {}) {
  close(false);
  const settings = store.chatSettings(chatId);
  const change = async (patch, after) => {
    close();
    try {
      await store.updateChatSettings(chatId, patch);
      after?.();
    } catch (e) {
      onError?.(e.message);
    }
  };
  const items = [
    settings.muted ? ['Unmute notifications', () => change({ muted: false })] : ['Mute notifications', () => change({ muted: true })],
    settings.pinned ? ['Unpin chat', () => change({ pinned: false })] : ['Pin chat', () => change({ pinned: true })],
    settings.archived ? ['Unarchive chat', () => change({ archived: false })] : ['Archive chat', () => change({ archived: true }, onArchived)],
  ];
  const buttons = items.map(([label, run]) => el('button', { type: 'button', role: 'menuitem', class: 'menu-item', tabindex: '-1', onclick: run }, label));
  const node = el('div', { class: 'menu', role: 'menu', 'aria-label': 'Chat options' }, ...buttons);
  document.body.append(node);
  const box = anchor.getBoundingClientRect();
  node.style.left = `${Math.max(8, Math.min(box.right - node.offsetWidth, window.innerWidth - node.offsetWidth - 8))}px`;
  node.style.top = `${box.bottom + 4}px`;
  const onKey = event => {
    const index = buttons.indexOf(document.activeElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      buttons[(index + (event.key === 'ArrowDown' ? 1 : -1) + buttons.length) % buttons.length].focus();
    } else if (event.key === 'Tab') {
      close();
    }
  };
  const onPointer = event => { if (!node.contains(event.target) && event.target !== anchor) close(false); };
  document.addEventListener('keydown', onKey, true);
  document.addEventListener('pointerdown', onPointer, true);
  anchor.setAttribute('aria-expanded', 'true');
  open = { node, anchor, onKey, onPointer };
  buttons[0].focus();
}
