// Parley web client: boots the session, lays out the chat list and the conversation, and keeps them live.
import { Api } from './api.js';
import { renderAuth, logo } from './auth-view.js';
import { avatar } from './avatar.js';
import { openGroupInfo, openNewChat, openNewGroup, openProfile } from './dialogs.js';
import { openDisappearing, disappearLabel } from './chat-settings.js';
import { disablePush, enablePush, pushState } from './push.js';
import { conversationRows, previewText, ticks, updateTicks } from './messages.js';
import { ChatStore } from './store.js';
import { el, icon, icons, formatListTime, formatLastSeen } from './util.js';

const root = document.getElementById('app');
const toasts = document.getElementById('toasts');
const api = new Api();
let app = null;

function toast(message) {
  const node = el('div', { class: 'toast' }, message);
  toasts.append(node);
  setTimeout(() => node.classList.add('leaving'), 4_000);
  setTimeout(() => node.remove(), 4_500);
}

api.addEventListener('signedout', event => {
  app?.destroy();
  app = null;
  showAuth(event.detail?.reason ?? null);
});

function showAuth(notice = null) {
  document.title = 'Parley';
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  renderAuth(root, api, { notice, onSignedIn: () => startApp() });
}

function startApp() {
  app?.destroy();
  app = new ChatApp();
}

/** The chat id in the address (#/chat/{id}), so a reload reopens the conversation. */
function chatFromHash() {
  const match = /^#\/chat\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

class ChatApp {
  constructor() {
    this.store = new ChatStore(api);
    this.dirty = new Set();
    this.flushQueued = false;
    this.rowCache = new Map();
    this.renderedChatId = null;
    this.filter = '';
    this.build();
    this.onChange = event => this.invalidate(event.detail);
    this.onToast = event => toast(event.detail);
    this.onHash = () => this.routeFromHash();
    this.onKey = event => this.globalKey(event);
    this.store.addEventListener('change', this.onChange);
    this.store.addEventListener('toast', this.onToast);
    window.addEventListener('hashchange', this.onHash);
    document.addEventListener('keydown', this.onKey);
    this.minuteTimer = setInterval(() => this.invalidate({ what: 'clock' }), 60_000);
    this.renderAll();
    this.store.start()
      .then(() => this.routeFromHash())
      .catch(error => toast(error.message));
  }

  destroy() {
    this.store.removeEventListener('change', this.onChange);
    this.store.removeEventListener('toast', this.onToast);
    window.removeEventListener('hashchange', this.onHash);
    document.removeEventListener('keydown', this.onKey);
    clearInterval(this.minuteTimer);
    this.store.stop();
    for (const dialog of document.querySelectorAll('dialog')) dialog.close();
  }

  // ---- layout -------------------------------------------------------------------------------------

  build() {
    const s = this.store;
    this.meAvatar = el('span', { class: 'me-avatar' });
    this.meName = el('span', { class: 'me-name' });
    this.meButton = el('button', { type: 'button', class: 'me-button', 'aria-label': 'Your profile', title: 'Your profile', onclick: () => openProfile(this.store) },
      this.meAvatar, this.meName);
    this.banner = el('div', { class: 'connection-banner', role: 'status', hidden: true });
    this.filterInput = el('input', { type: 'search', class: 'search-input', placeholder: 'Search chats', 'aria-label': 'Search chats', autocomplete: 'off' });
    this.filterInput.addEventListener('input', () => {
      this.filter = this.filterInput.value.trim().toLowerCase();
      this.invalidate({ what: 'chats' });
    });
    this.chatList = el('ul', { class: 'chat-list', 'aria-label': 'Chats' });
    this.chatList.addEventListener('keydown', event => this.listKey(event));
    this.emptyList = el('div', { class: 'empty-list' });

    // Shown until this browser gets push notifications (hidden where it cannot).
    this.notifyButton = el('button', { type: 'button', class: 'icon-button notify-button', 'aria-label': 'Turn on notifications', title: 'Turn on notifications',
      hidden: true, onclick: () => this.turnOnNotifications() }, icon(icons.bell));
    pushState().then(state => { this.notifyButton.hidden = state === 'on' || state === 'unsupported'; }).catch(() => {});
    const sidebar = el('aside', { class: 'sidebar', 'aria-label': 'Chat list' },
      el('header', { class: 'sidebar-header' },
        this.meButton,
        el('span', { class: 'spacer' }),
        el('button', { type: 'button', class: 'icon-button', 'aria-label': 'New chat', title: 'New chat', onclick: () => this.newChat() }, icon(icons.chat)),
        el('button', { type: 'button', class: 'icon-button', 'aria-label': 'New group', title: 'New group', onclick: () => this.newGroup() }, icon(icons.group)),
        this.notifyButton,
        el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Sign out', title: 'Sign out', onclick: () => this.signOut() }, icon(icons.logout))),
      this.banner,
      el('div', { class: 'search-bar' }, icon(icons.search, 'icon search-icon'), this.filterInput),
      el('nav', { class: 'chat-list-scroll', 'aria-label': 'Conversations' }, this.chatList, this.emptyList));

    // Conversation pane.
    this.convAvatar = el('span', { class: 'conv-avatar' });
    this.convName = el('h2', { class: 'conv-name', id: 'conv-name' });
    this.convSub = el('p', { class: 'conv-sub', 'aria-live': 'polite' });
    this.timerButton = el('button', { type: 'button', class: 'icon-button timer-button', 'aria-label': 'Disappearing messages', title: 'Disappearing messages',
      onclick: () => { if (this.store.activeChatId) openDisappearing(this.store, this.store.activeChatId); } }, icon(icons.clock));
    this.infoButton = el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Group info', title: 'Group info', hidden: true, onclick: () => this.groupInfo() }, icon(icons.info));
    const titleArea = el('div', { class: 'conv-title' }, this.convAvatar, el('div', { class: 'conv-title-text' }, this.convName, this.convSub));
    titleArea.addEventListener('click', () => { if (this.store.chats.get(this.store.activeChatId)?.isGroup) this.groupInfo(); });
    this.messages = el('div', { class: 'messages', role: 'log', 'aria-labelledby': 'conv-name', tabindex: '0' });
    this.messageList = el('div', { class: 'message-list' });
    this.olderStatus = el('div', { class: 'older-status', role: 'status' });
    this.typingBubble = el('div', { class: 'msg-row other typing-row', 'aria-hidden': 'true', hidden: true },
      el('div', { class: 'bubble typing-bubble' }, el('span', { class: 'dot' }), el('span', { class: 'dot' }), el('span', { class: 'dot' })));
    this.messages.append(this.olderStatus, this.messageList, this.typingBubble);
    this.messages.addEventListener('scroll', () => this.onScroll(), { passive: true });

    this.input = el('textarea', { id: 'composer-input', rows: '1', placeholder: 'Type a message', 'aria-label': 'Type a message', maxlength: '4096', enterkeyhint: 'send' });
    this.input.addEventListener('keydown', event => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendCurrent();
      }
    });
    this.input.addEventListener('input', () => {
      this.autosize();
      if (this.store.activeChatId) this.store.typingActivity(this.store.activeChatId, this.input.value.trim().length > 0);
      this.saveDraft();
    });
    this.input.addEventListener('blur', () => this.store.stopTyping());
    const composer = el('form', { class: 'composer', 'aria-label': 'Send a message' },
      this.input,
      el('button', { type: 'submit', class: 'send-button', 'aria-label': 'Send', title: 'Send' }, icon(icons.send)));
    composer.addEventListener('submit', event => {
      event.preventDefault();
      this.sendCurrent();
    });

    this.conversation = el('section', { class: 'conversation', 'aria-labelledby': 'conv-name', hidden: true },
      el('header', { class: 'conv-header' },
        el('button', { type: 'button', class: 'icon-button back-button', 'aria-label': 'Back to chats', title: 'Back', onclick: () => this.back() }, icon(icons.back)),
        titleArea,
        this.timerButton,
        this.infoButton),
      this.messages,
      composer);
    this.placeholder = el('section', { class: 'placeholder', 'aria-label': 'No conversation open' },
      logo(72), el('h2', {}, 'Parley'), el('p', {}, 'Pick a chat on the left, or start a new one.'),
      el('button', { type: 'button', class: 'button primary', onclick: () => this.newChat() }, 'Start a chat'));
    this.main = el('main', { class: 'main-pane' }, this.placeholder, this.conversation);

    this.shell = el('div', { class: 'shell', 'data-view': 'list' }, sidebar, this.main);
    root.replaceChildren(this.shell);
  }

  // ---- routing -----------------------------------------------------------------------------------

  routeFromHash() {
    const chatId = chatFromHash();
    if (chatId && this.store.chats.has(chatId)) {
      if (this.store.activeChatId !== chatId) this.store.openChat(chatId);
    } else if (this.store.activeChatId) {
      this.store.closeChat();
    }
    if (chatId && !this.store.chats.has(chatId) && this.store.ready) history.replaceState(null, '', '#');
  }

  open(chatId) {
    const target = `#/chat/${encodeURIComponent(chatId)}`;
    if (location.hash === target) this.routeFromHash();
    else if (chatFromHash()) location.replace(target); // between chats: no pile of history entries
    else {
      this.pushedFromList = true;
      location.hash = target;
    }
  }

  /** Back to the list: the browser's back when we came from it (so its back button agrees), else a new entry. */
  back() {
    if (!chatFromHash()) return;
    if (this.pushedFromList) {
      this.pushedFromList = false;
      history.back();
    } else {
      location.hash = '';
    }
  }

  globalKey(event) {
    if (event.key === 'Escape' && !document.querySelector('dialog[open]') && this.store.activeChatId && this.shell.dataset.view === 'conversation') {
      this.back();
    }
  }

  /** Arrow keys move between chats in the list. */
  listKey(event) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const items = [...this.chatList.querySelectorAll('.chat-item')];
    const index = items.indexOf(document.activeElement);
    if (index < 0) return;
    const next = items[index + (event.key === 'ArrowDown' ? 1 : -1)];
    if (next) {
      next.focus();
      event.preventDefault();
    }
  }

  async signOut() {
    // This browser stops getting the account's notifications (best effort: signing out never waits on it).
    await Promise.race([disablePush(api).catch(() => {}), new Promise(resolve => setTimeout(resolve, 2000))]);
    this.store.forgetLocalData();
    api.logout();
  }

  async turnOnNotifications() {
    this.notifyButton.disabled = true;
    try {
      await enablePush(api);
      this.notifyButton.hidden = true;
      toast('Notifications are on.');
    } catch (error) {
      toast(`Notifications could not be turned on: ${error.message}`);
    } finally {
      this.notifyButton.disabled = false;
    }
  }

  newChat() {
    openNewChat(this.store, { onOpen: id => this.open(id), onNewGroup: () => this.newGroup() });
  }

  newGroup() {
    openNewGroup(this.store, { onOpen: id => this.open(id) });
  }

  groupInfo() {
    const chatId = this.store.activeChatId;
    if (chatId && this.store.chats.get(chatId)?.isGroup) openGroupInfo(this.store, chatId);
  }

  // ---- rendering ---------------------------------------------------------------------------------

  invalidate({ what, chatId }) {
    this.dirty.add(what === 'older' ? `older:${chatId}` : what);
    if (what === 'messages' || what === 'sent') this.dirty.add(`messages:${chatId}`);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Batched: a burst of frames renders once. A timer, not rAF, so a page in the background still updates.
    setTimeout(() => this.flush(), 0);
  }

  flush() {
    this.flushQueued = false;
    const dirty = this.dirty;
    this.dirty = new Set();
    const active = this.store.activeChatId;
    if (dirty.has('me') || dirty.has('ready')) this.renderMe();
    if (dirty.has('connection')) this.renderConnection();
    if (dirty.has('active') || this.renderedChatId !== active) {
      this.renderActive();
      return;
    }
    if (['chats', 'typing', 'presence', 'messages', 'clock', 'ready', 'sent'].some(k => dirty.has(k))) this.renderChatList();
    if (active) {
      if (dirty.has(`older:${active}`)) this.renderMessages('older');
      else if (dirty.has(`messages:${active}`) || dirty.has('clock') || dirty.has('chats')) this.renderMessages(dirty.has('sent') ? 'sent' : 'update');
      if (['chats', 'typing', 'presence', 'connection', 'clock'].some(k => dirty.has(k))) this.renderHeader();
    }
  }

  renderAll() {
    this.renderMe();
    this.renderConnection();
    this.renderActive();
  }

  renderMe() {
    const me = this.store.me;
    this.meAvatar.replaceChildren(avatar(api, { name: me.name, avatar: me.photoUrl || me.avatar, seed: me.id }));
    this.meName.textContent = me.name;
  }

  renderConnection() {
    const connecting = this.store.connection !== 'open';
    this.banner.hidden = !connecting;
    this.banner.replaceChildren(connecting ? el('span', { class: 'spinner', 'aria-hidden': 'true' }) : '', connecting ? 'Connecting…' : '');
    this.shell.classList.toggle('offline', connecting);
    this.renderChatList();
    if (this.store.activeChatId) this.renderHeader();
  }

  renderActive() {
    const chatId = this.store.activeChatId;
    const changed = this.renderedChatId !== chatId;
    if (changed && this.renderedChatId) this.saveDraft(this.renderedChatId);
    this.renderedChatId = chatId;
    this.shell.dataset.view = chatId ? 'conversation' : 'list';
    this.placeholder.hidden = !!chatId;
    this.conversation.hidden = !chatId;
    this.renderChatList();
    if (!chatId) return;
    if (changed) {
      this.rowCache.clear();
      this.messageList.replaceChildren();
      this.input.value = sessionStorage.getItem(`parley.draft.${chatId}`) ?? '';
      this.autosize();
    }
    this.renderHeader();
    this.renderMessages(changed ? 'open' : 'update');
    if (changed && !matchMedia('(pointer: coarse)').matches) this.input.focus();
  }

  renderChatList() {
    const s = this.store;
    const chats = s.sortedChats().filter(c => !this.filter || s.chatName(c).toLowerCase().includes(this.filter));
    const focusedId = document.activeElement?.closest?.('.chat-item')?.dataset.chatId;
    const items = chats.map(chat => {
      const typingIds = s.typingIn(chat.id);
      const pending = s.pendingFor(chat.id);
      const last = pending.length ? { ...pending[pending.length - 1], pending: true, failed: pending[pending.length - 1].failed, senderId: s.me.id, type: 'text', timestamp: pending[pending.length - 1].createdAt } : chat.lastMessage;
      let preview;
      if (typingIds.length) {
        preview = el('span', { class: 'preview typing' }, typingText(s, chat, typingIds));
      } else if (last) {
        const own = last.senderId === s.me.id && last.type !== 'system';
        const who = chat.isGroup && !own && last.type !== 'system' ? `${last.senderName || s.userName(last.senderId)}: ` : '';
        preview = el('span', { class: 'preview' }, own ? ticks(s.statusOf(chat, last)) : null, el('span', { class: 'preview-text' }, who + previewText(last, s)));
      } else {
        preview = el('span', { class: 'preview muted' }, chat.isGroup ? 'Group created' : 'No messages yet');
      }
      const unread = chat.unreadCount ?? 0;
      const time = last ? formatListTime(last.timestamp ?? chat.lastMessageTime) : '';
      const a = s.chatAvatar(chat);
      const other = chat.isGroup ? null : s.otherParticipant(chat);
      const button = el('button', {
        type: 'button', class: `chat-item${unread ? ' unread' : ''}`, 'aria-current': chat.id === s.activeChatId ? 'true' : null,
        dataset: { chatId: chat.id }, onclick: () => this.open(chat.id),
      },
        avatar(api, { name: a.name, avatar: a.avatar, seed: a.seed, online: s.connection === 'open' && !!other?.online }),
        el('span', { class: 'chat-body' },
          el('span', { class: 'chat-top' }, el('span', { class: 'chat-name' }, s.chatName(chat)), el('span', { class: 'chat-time' }, time)),
          el('span', { class: 'chat-bottom' }, preview,
            unread ? el('span', { class: 'badge', 'aria-label': `${unread} unread ${unread === 1 ? 'message' : 'messages'}` }, String(unread)) : null)));
      return el('li', {}, button);
    });
    this.chatList.replaceChildren(...items);
    if (focusedId) this.chatList.querySelector(`.chat-item[data-chat-id="${CSS.escape(focusedId)}"]`)?.focus();
    this.emptyList.textContent = chats.length ? '' : this.filter ? 'No chats match.' : s.ready ? 'No chats yet. Start one with the new chat button.' : 'Loading chats…';
    const totalUnread = [...s.chats.values()].reduce((n, c) => n + (c.unreadCount > 0 ? 1 : 0), 0);
    document.title = totalUnread ? `(${totalUnread}) Parley` : 'Parley';
  }

  renderHeader() {
    const s = this.store;
    const chat = s.chats.get(s.activeChatId);
    if (!chat) return;
    const a = s.chatAvatar(chat);
    const other = chat.isGroup ? null : s.otherParticipant(chat);
    // Presence is unknown while we are disconnected: no green dot then.
    const online = s.connection === 'open' && !!other?.online;
    const key = `${a.name}|${a.avatar}|${a.seed}|${online}`;
    if (this.convAvatar.dataset.key !== key) {
      this.convAvatar.dataset.key = key;
      this.convAvatar.replaceChildren(avatar(api, { name: a.name, avatar: a.avatar, seed: a.seed, size: 'md', online }));
    }
    this.convName.textContent = s.chatName(chat);
    this.infoButton.hidden = !chat.isGroup;
    // The timer button shows when disappearing messages are on, and says for how long.
    const timer = disappearLabel(s.chatSettings(chat.id).disappearAfterSeconds);
    this.timerButton.classList.toggle('on', !!timer);
    this.timerButton.title = timer ? `Disappearing messages: ${timer}` : 'Disappearing messages';
    const typingIds = s.typingIn(chat.id);
    let sub;
    let cls = 'conv-sub';
    if (s.connection !== 'open') {
      sub = 'connecting…';
      cls += ' connecting';
    } else if (typingIds.length) {
      sub = typingText(s, chat, typingIds);
      cls += ' typing';
    } else if (chat.isGroup) {
      const names = (chat.participants ?? []).filter(p => p.id !== s.me.id).map(p => p.name);
      sub = ['You', ...names].join(', ');
    } else if (other?.online) {
      sub = 'online';
    } else {
      sub = other?.lastSeen !== undefined ? formatLastSeen(other.lastSeen) : '';
      if (other?.id) s.ensureLastSeen(other.id);
    }
    this.convSub.textContent = sub;
    this.convSub.className = cls;
    this.typingBubble.hidden = typingIds.length === 0;
  }

  renderMessages(reason) {
    const s = this.store;
    const chatId = s.activeChatId;
    const chat = s.chats.get(chatId);
    if (!chat) return;
    const conv = s.conversation(chatId);
    const box = this.messages;
    const distanceFromBottom = box.scrollHeight - box.scrollTop - box.clientHeight;
    const atBottom = distanceFromBottom < 80;
    const previousTop = box.scrollTop;
    const previousHeight = box.scrollHeight;

    const rows = conversationRows(s, chat, conv.messages, s.pendingFor(chatId));
    const nextCache = new Map();
    const nodes = rows.map(row => {
      const cached = this.rowCache.get(row.key);
      let node;
      if (cached && cached.sig === row.sig) {
        node = cached.node;
        if (cached.status !== row.status) updateTicks(node, row.status);
      } else {
        node = row.build();
      }
      nextCache.set(row.key, { sig: row.sig, status: row.status, node });
      return node;
    });
    this.rowCache = nextCache;
    reconcile(this.messageList, nodes);

    this.olderStatus.textContent = conv.loadingOlder ? 'Loading earlier messages…'
      : !conv.loaded ? 'Loading messages…'
        : conv.hasOlder ? '' : rows.length ? 'This is the beginning of the conversation.' : 'No messages yet. Say hello!';
    this.renderHeader();

    if (reason === 'older') {
      box.scrollTop = previousTop + (box.scrollHeight - previousHeight);
    } else if (reason === 'open' || reason === 'sent' || atBottom) {
      box.scrollTop = box.scrollHeight;
    } else {
      box.scrollTop = previousTop;
    }
    // Not enough to scroll yet: fetch older pages until the pane is full or the history ends.
    if (conv.loaded && conv.hasOlder && box.scrollHeight <= box.clientHeight + 40) s.loadOlder(chatId);
  }

  onScroll() {
    const chatId = this.store.activeChatId;
    if (!chatId) return;
    if (this.messages.scrollTop < 150) {
      const conv = this.store.conversation(chatId);
      if (conv.hasOlder && !conv.loadingOlder) {
        this.store.loadOlder(chatId);
        this.olderStatus.textContent = 'Loading earlier messages…';
      }
    }
  }

  // ---- composing ---------------------------------------------------------------------------------

  sendCurrent() {
    const chatId = this.store.activeChatId;
    const text = this.input.value;
    if (!chatId || !text.trim()) return;
    this.store.send(chatId, text);
    this.input.value = '';
    sessionStorage.removeItem(`parley.draft.${chatId}`);
    this.autosize();
    this.input.focus();
  }

  saveDraft(chatId = this.store.activeChatId) {
    if (!chatId) return;
    if (this.input.value) sessionStorage.setItem(`parley.draft.${chatId}`, this.input.value);
    else sessionStorage.removeItem(`parley.draft.${chatId}`);
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
  }
}

/** Puts exactly these nodes, in order, in parent, touching only what changed: the messages pane
 * is a live region, and a node taken out and put back would be read out again. */
function reconcile(parent, nodes) {
  const wanted = new Set(nodes);
  for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
  let cursor = parent.firstElementChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextElementSibling;
    } else {
      parent.insertBefore(node, cursor);
    }
  }
}

function typingText(store, chat, ids) {
  if (!chat.isGroup) return 'typing…';
  const names = ids.map(id => (store.users.get(id)?.name ?? 'Someone').split(' ')[0]);
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

if (api.signedIn) startApp();
else showAuth();
