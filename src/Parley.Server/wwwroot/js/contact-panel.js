// Contact info for a 1:1 chat: name, photo, about, groups in common, block or unblock.
import { avatar } from './avatar.js';
import { modal } from './dialogs.js';
import { el, formatLastSeen } from './util.js';

export function openContactInfo(store, chatId, { onOpenChat } = {}) {
  const chat = store.chats.get(chatId);
  const other = chat ? store.otherParticipant(chat) : null;
  if (!other?.id) return;
  const m = modal('Contact info', { className: 'contact-info' });
  const error = el('p', { class: 'form-error', role: 'alert' });
  let busy = false;

  const render = () => {
    const user = { ...other, ...(store.users.get(other.id) ?? {}) };
    const blocked = store.blocked.has(other.id);
    const groups = store.sortedChats().filter(c => c.isGroup && store.otherMembers(c).includes(other.id));
    const blockButton = el('button', { type: 'button', class: `button ${blocked ? '' : 'danger'}` }, blocked ? `Unblock ${user.name}` : `Block ${user.name}`);
    blockButton.addEventListener('click', async () => {
      if (busy) return;
      busy = true;
      blockButton.disabled = true;
      error.textContent = '';
      try {
        await store.setBlocked(other.id, !blocked);
        store.toast(blocked ? `${user.name} is unblocked.` : `${user.name} is blocked.`);
      } catch (e) {
        error.textContent = e.message;
      } finally {
        busy = false;
        render();
        m.body.querySelector('.block-zone .button')?.focus();
      }
    });
    m.body.replaceChildren(
      el('div', { class: 'group-hero' },
        avatar(store.api, { name: user.name, avatar: user.photoUrl || user.avatar, seed: user.id, size: 'xl', label: `Photo of ${user.name}` }),
        el('p', { class: 'group-title contact-name' }, user.name),
        user.email ? el('p', { class: 'muted small' }, user.email) : null,
        el('p', { class: 'muted small' }, user.online ? 'online' : formatLastSeen(user.lastSeen))),
      el('section', { 'aria-labelledby': 'about-heading' },
        el('h3', { id: 'about-heading' }, 'About'),
        el('p', { class: 'about-text' }, user.about || 'Nothing here yet.')),
      el('section', { 'aria-labelledby': 'groups-heading' },
        el('h3', { id: 'groups-heading' }, groups.length ? `${groups.length} ${groups.length === 1 ? 'group' : 'groups'} in common` : 'No groups in common'),
        el('ul', { class: 'member-list shared-groups', 'aria-label': 'Groups in common' }, ...groups.map(g => el('li', {},
          el('button', { type: 'button', class: 'person', onclick: () => { m.close(); onOpenChat?.(g.id); } },
            avatar(store.api, { name: store.chatName(g), seed: g.id, size: 'sm' }),
            el('span', { class: 'person-text' }, el('span', { class: 'person-name' }, store.chatName(g)))))))),
      error,
      el('div', { class: 'leave-zone block-zone' },
        blocked ? el('p', {}, `You blocked ${user.name}. They cannot message you or see when you are online.`) : null,
        blockButton));
  };
  const onChange = event => { if (['presence', 'profile', 'chats', 'blocked'].includes(event.detail.what)) render(); };
  store.addEventListener('change', onChange);
  m.onClose(() => store.removeEventListener('change', onChange));
  render();
  store.refreshUser(other.id).catch(() => {});
}
