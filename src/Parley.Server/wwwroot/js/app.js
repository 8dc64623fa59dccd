// Parley web client: boots the session, lays out the chat list and the conversation, and keeps them live.
import { Api } from './api.js';
import { renderAuth, logo } from './auth-view.js';
import { avatar } from './avatar.js';
import { closeChatOptions, openChatOptions } from './chat-options.js';
import { openContactInfo } from './contact-panel.js';
import { modal, openGroupInfo, openNewChat, openNewGroup, openProfile } from './dialogs.js';
import { openDisappearing, disappearLabel } from './chat-settings.js';
import { disablePush, enablePush, pushState, pushSupported, renewPush } from './push.js';
import { openViewer } from './media.js';
import { closeMessageMenu, openMessageInfo, openMessageMenu } from './message-menu.js';
import { conversationRows, previewText, senderName, ticks, updateTicks, updateUploadProgress } from './messages.js';
import { askNotificationPermission, notificationPermission, Notifier } from './notify.js';
import { MessageSearch } from './search.js';
import { ChatStore, MAX_MESSAGE_CHARS, charCount, messageId } from './store.js';
import { el, icon, icons, formatListTime, formatLastSeen, pressGuard } from './util.js';

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
    this.notifier = new Notifier(this.store, { onOpen: chatId => this.open(chatId) });
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
    this.notifier.destroy();
    this.search.destroy();
    closeMessageMenu(false);
    closeChatOptions();
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
    this.filterInput = el('input', { type: 'search', class: 'search-input', placeholder: 'Search chats and messages', 'aria-label': 'Search chats and messages', autocomplete: 'off' });
    this.search = new MessageSearch(this.store, { onPick: (chatId, id) => this.goToMessage(chatId, id) });
    this.filterInput.addEventListener('input', () => {
      this.filter = this.filterInput.value.trim().toLowerCase();
      this.search.query(this.filterInput.value);
      this.invalidate({ what: 'chats' });
    });
    this.notifyBanner = el('div', { class: 'notify-banner', hidden: notificationPermission() !== 'default' },
      el('span', { class: 'notify-icon', 'aria-hidden': 'true' }, icon(icons.bell)),
      el('span', { class: 'notify-text' }, 'Get notified of new messages.'),
      el('button', { type: 'button', class: 'link-button', onclick: () => this.turnOnNotifications() }, 'Turn on notifications'));
    this.chatList = el('ul', { class: 'chat-list', 'aria-label': 'Chats' });
    this.chatList.addEventListener('keydown', event => this.listKey(event));
    // Typing, presence and new messages re-render the list with new rows; a click pressed on one
    // row must not be released on its replacement.
    this.holdChatList = pressGuard(this.chatList);
    this.emptyList = el('div', { class: 'empty-list' });

    // Once the banner has had its answer: shown until this browser gets push notifications (hidden where it cannot).
    this.notifyButton = el('button', { type: 'button', class: 'icon-button notify-button', 'aria-label': 'Turn on notifications', title: 'Turn on notifications',
      hidden: true, onclick: () => this.turnOnNotifications() }, icon(icons.bell));
    // A subscription the server dropped is registered again; one that cannot be shows the button.
    renewPush(api).catch(() => {}).finally(() => this.updateNotifyControls());
    const sidebar = el('aside', { class: 'sidebar', 'aria-label': 'Chat list' },
      el('header', { class: 'sidebar-header' },
        this.meButton,
        el('span', { class: 'spacer' }),
        el('button', { type: 'button', class: 'icon-button', 'aria-label': 'New chat', title: 'New chat', onclick: () => this.newChat() }, icon(icons.chat)),
        el('button', { type: 'button', class: 'icon-button', 'aria-label': 'New group', title: 'New group', onclick: () => this.newGroup() }, icon(icons.group)),
        this.notifyButton,
        el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Sign out', title: 'Sign out', onclick: () => this.signOut() }, icon(icons.logout))),
      this.banner,
      this.notifyBanner,
      el('div', { class: 'search-bar' }, icon(icons.search, 'icon search-icon'), this.filterInput),
      el('nav', { class: 'chat-list-scroll', 'aria-label': 'Conversations' }, this.chatList, this.emptyList, this.search.node));

    // Conversation pane.
    this.convAvatar = el('span', { class: 'conv-avatar' });
    this.convName = el('h2', { class: 'conv-name', id: 'conv-name' });
    this.convSub = el('p', { class: 'conv-sub', 'aria-live': 'polite' });
    this.timerButton = el('button', { type: 'button', class: 'icon-button timer-button', 'aria-label': 'Disappearing messages', title: 'Disappearing messages',
      onclick: () => { if (this.store.activeChatId) openDisappearing(this.store, this.store.activeChatId); } }, icon(icons.clock));
    this.infoButton = el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Group info', title: 'Group info', hidden: true, onclick: () => this.groupInfo() }, icon(icons.info));
    this.optionsButton = el('button', {
      type: 'button', class: 'icon-button', 'aria-label': 'Chat options', title: 'Chat options', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
      onclick: event => {
        const chatId = this.store.activeChatId;
        if (chatId) openChatOptions(this.store, chatId, event.currentTarget, { onError: toast, onArchived: () => toast('Chat archived.') });
      },
    }, icon(icons.more));
    const titleArea = el('div', { class: 'conv-title' }, this.convAvatar, el('div', { class: 'conv-title-text' }, this.convName, this.convSub));
    // The header opens the group's info, or the contact's (with block and unblock).
    titleArea.setAttribute('role', 'button');
    titleArea.setAttribute('tabindex', '0');
    titleArea.setAttribute('aria-label', 'Chat info');
    titleArea.addEventListener('click', () => this.chatInfo());
    titleArea.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this.chatInfo();
      }
    });
    this.messages = el('div', { class: 'messages', role: 'log', 'aria-labelledby': 'conv-name', tabindex: '0' });
    this.messageList = el('div', { class: 'message-list' });
    this.olderStatus = el('div', { class: 'older-status', role: 'status' });
    this.typingBubble = el('div', { class: 'msg-row other typing-row', 'aria-hidden': 'true', hidden: true },
      el('div', { class: 'bubble typing-bubble' }, el('span', { class: 'dot' }), el('span', { class: 'dot' }), el('span', { class: 'dot' })));
    this.messages.append(this.olderStatus, this.messageList, this.typingBubble);
    this.messages.addEventListener('scroll', () => this.onScroll(), { passive: true });
    // Scrolled up, new messages wait unread behind this button.
    this.newBelow = 0;
    this.jumpButton = el('button', { type: 'button', class: 'jump-button', hidden: true, 'aria-label': 'Go to the newest message', onclick: () => this.scrollToBottom() },
      el('span', { class: 'jump-count' }), icon(icons.arrowDown));
    this.dropZone = el('div', { class: 'drop-zone', hidden: true, 'aria-hidden': 'true' }, el('span', {}, 'Drop files to send them'));

    // No maxlength: the browser would cut a long paste silently. The counter refuses it instead.
    this.input = el('textarea', { id: 'composer-input', rows: '1', placeholder: 'Type a message', 'aria-label': 'Type a message', enterkeyhint: 'send', 'aria-describedby': 'composer-counter' });
    this.counter = el('span', { class: 'composer-counter', id: 'composer-counter', 'aria-live': 'polite' });
    this.fileInput = el('input', { type: 'file', class: 'visually-hidden', multiple: true, tabindex: '-1', 'aria-hidden': 'true', id: 'attach-input' });
    this.fileInput.addEventListener('change', () => {
      const files = [...(this.fileInput.files ?? [])];
      this.fileInput.value = '';
      this.attach(files);
    });
    this.attachButton = el('button', { type: 'button', class: 'icon-button attach-button', 'aria-label': 'Attach a file', title: 'Attach', onclick: () => this.fileInput.click() }, icon(icons.attach));
    this.input.addEventListener('paste', event => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length) {
        event.preventDefault();
        this.attach(files);
      }
    });
    this.replyBar = el('div', { class: 'compose-context', hidden: true });
    this.input.addEventListener('keydown', event => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendCurrent();
      }
    });
    this.input.addEventListener('keydown', event => {
      if (event.key === 'Escape' && this.composeContext) {
        event.preventDefault();
        event.stopPropagation();
        this.clearComposeContext();
      }
    });
    this.input.addEventListener('input', () => {
      this.autosize();
      this.renderCounter();
      if (this.store.activeChatId) this.store.typingActivity(this.store.activeChatId, this.input.value.trim().length > 0);
      this.saveDraft();
    });
    this.input.addEventListener('blur', () => this.store.stopTyping());
    this.sendButton = el('button', { type: 'submit', class: 'send-button', 'aria-label': 'Send', title: 'Send' }, icon(icons.send));
    this.blockedBar = el('div', { class: 'blocked-bar', hidden: true });
    const composer = el('form', { class: 'composer', 'aria-label': 'Send a message' },
      this.attachButton,
      this.fileInput,
      el('div', { class: 'composer-field' }, this.input, this.counter),
      this.sendButton);
    composer.addEventListener('submit', event => {
      event.preventDefault();
      this.sendCurrent();
    });

    this.conversation = el('section', { class: 'conversation', 'aria-labelledby': 'conv-name', hidden: true },
      el('header', { class: 'conv-header' },
        el('button', { type: 'button', class: 'icon-button back-button', 'aria-label': 'Back to chats', title: 'Back', onclick: () => this.back() }, icon(icons.back)),
        titleArea,
        this.timerButton,
        this.optionsButton,
        this.infoButton),
      el('div', { class: 'messages-wrap' }, this.messages, this.jumpButton, this.dropZone),
      this.replyBar,
      this.blockedBar,
      composer);
    for (const type of ['dragenter', 'dragover']) {
      this.conversation.addEventListener(type, event => {
        if (!event.dataTransfer?.types?.includes('Files')) return;
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
        this.dropZone.hidden = false;
      });
    }
    this.conversation.addEventListener('dragleave', event => {
      if (!this.conversation.contains(event.relatedTarget)) this.dropZone.hidden = true;
    });
    this.conversation.addEventListener('drop', event => {
      if (!event.dataTransfer?.files?.length) return;
      event.preventDefault();
      this.dropZone.hidden = true;
      this.attach([...event.dataTransfer.files]);
    });
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
      // Focus goes to the closed chat in the list, never to the page body.
      const closed = this.store.activeChatId;
      this.back();
      this.focusAfterClose = closed;
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
    const unsent = this.store.unsentCount;
    if (!unsent) {
      await this.endSession();
      return;
    }
    // Unsent messages are kept on this device and go out at the next sign-in; say so first.
    const m = modal('Sign out?');
    const uploads = this.store.uploads.length;
    m.body.append(
      el('p', {}, `${unsent} ${unsent === 1 ? 'message has' : 'messages have'} not been sent yet.`
        + ' They stay on this device and are sent the next time you sign in here.'
        + (uploads ? ` ${uploads === 1 ? 'A file that is' : 'Files that are'} still uploading will not be sent.` : '')),
      el('div', { class: 'dialog-actions' },
        el('button', { type: 'button', class: 'button', onclick: () => m.close() }, 'Stay signed in'),
        el('button', {
          type: 'button', class: 'button danger', onclick: () => {
            m.close();
            this.endSession();
          },
        }, 'Sign out')));
    m.body.querySelector('.dialog-actions .button')?.focus();
  }

  async endSession() {
    // This browser stops getting the account's notifications (best effort: signing out never waits on it).
    await Promise.race([disablePush(api).catch(() => {}), new Promise(resolve => setTimeout(resolve, 2000))]);
    this.store.forgetLocalData();
    api.logout();
  }

  chatInfo() {
    const chatId = this.store.activeChatId;
    const chat = chatId ? this.store.chats.get(chatId) : null;
    if (!chat) return;
    if (chat.isGroup) this.groupInfo();
    else openContactInfo(this.store, chatId, { onOpenChat: id => this.open(id) });
  }

  /** One request for both kinds: the browser's permission (notifications while Parley is open) and,
   * where the browser has it, Web Push (notifications while it is closed). */
  async turnOnNotifications() {
    this.notifyButton.disabled = true;
    try {
      if (pushSupported()) {
        await enablePush(api);
        toast('Notifications are on.');
      } else {
        await askNotificationPermission();
      }
    } catch (error) {
      toast(`Notifications could not be turned on: ${error.message}`);
    } finally {
      this.notifyButton.disabled = false;
      await this.updateNotifyControls();
    }
  }

  /** The banner asks once (until the browser has an answer); the header button stays while push is off. */
  async updateNotifyControls() {
    this.notifyBanner.hidden = notificationPermission() !== 'default';
    const state = await pushState().catch(() => 'unsupported');
    this.notifyButton.hidden = !this.notifyBanner.hidden || state === 'on' || state === 'unsupported';
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
    if (what === 'messages' || what === 'sent' || what === 'divider') this.dirty.add(`messages:${chatId}`);
    if (what === 'profile') this.dirty.add('me');
    if (what === 'blocked') this.dirty.add('chats');
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
    if (['chats', 'typing', 'presence', 'messages', 'clock', 'ready', 'sent', 'profile'].some(k => dirty.has(k))) this.renderChatList();
    if (active) {
      if (dirty.has(`older:${active}`)) this.renderMessages('older');
      else if (dirty.has(`messages:${active}`) || dirty.has('clock') || dirty.has('chats') || dirty.has('profile')) {
        this.renderMessages(dirty.has('sent') ? 'sent' : dirty.has('divider') && !this.dividerShown ? 'divider' : 'update');
      } else if (dirty.has('upload')) this.renderUploadProgress();
      if (['chats', 'typing', 'presence', 'connection', 'clock', 'profile'].some(k => dirty.has(k))) this.renderHeader();
    }
    if (dirty.has('chats') && this.filter) this.search.refreshNames();
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
    if (!chatId) {
      closeMessageMenu(false);
      if (this.focusAfterClose) {
        const item = this.chatList.querySelector(`.chat-item[data-chat-id="${CSS.escape(this.focusAfterClose)}"]`);
        (item ?? this.filterInput).focus();
        this.focusAfterClose = null;
      }
      return;
    }
    if (changed) {
      this.rowCache.clear();
      this.messageList.replaceChildren();
      this.clearComposeContext(false);
      this.input.value = sessionStorage.getItem(`parley.draft.${chatId}`) ?? '';
      this.autosize();
      this.renderCounter();
      this.newBelow = 0;
      this.dividerShown = false;
    }
    this.renderHeader();
    this.renderMessages(changed ? 'open' : 'update');
    if (changed && !matchMedia('(pointer: coarse)').matches) this.input.focus();
  }

  renderChatList() {
    if (this.holdChatList(() => this.renderChatList())) return;
    const s = this.store;
    // Archived chats live in their own view (a search looks through all chats).
    const archived = chat => !!chat.settings?.archived;
    const all = s.sortedChats();
    const archivedCount = all.filter(archived).length;
    if (!archivedCount) this.showArchived = false;
    const chats = all.filter(c => (this.filter ? s.chatName(c).toLowerCase().includes(this.filter) : archived(c) === !!this.showArchived));
    const focusedId = document.activeElement?.closest?.('.chat-item')?.dataset.chatId;
    const items = chats.map(chat => {
      const typingIds = s.typingIn(chat.id);
      const pending = s.pendingFor(chat.id);
      const last = pending.length ? { ...pending[pending.length - 1], pending: true, failed: pending[pending.length - 1].failed, senderId: s.me.id, type: pending[pending.length - 1].type ?? 'text', timestamp: pending[pending.length - 1].createdAt } : chat.lastMessage;
      let preview;
      if (typingIds.length) {
        preview = el('span', { class: 'preview typing' }, typingText(s, chat, typingIds));
      } else if (last) {
        const own = last.senderId === s.me.id && last.type !== 'system';
        const who = chat.isGroup && !own && last.type !== 'system' ? `${senderName(s, last)}: ` : '';
        preview = el('span', { class: 'preview' }, own ? ticks(s.statusOf(chat, last)) : null, el('span', { class: 'preview-text' }, who + previewText(last, s)));
      } else {
        preview = el('span', { class: 'preview muted' }, chat.isGroup ? 'Group created' : 'No messages yet');
      }
      const unread = chat.unreadCount ?? 0;
      const time = last ? formatListTime(last.timestamp ?? chat.lastMessageTime) : '';
      const muted = s.isMuted(chat.id);
      const marks = [
        muted ? el('span', { class: 'chat-mark', role: 'img', 'aria-label': 'Muted', title: 'Muted' }, icon(icons.muted)) : null,
        chat.settings?.pinned ? el('span', { class: 'chat-mark', role: 'img', 'aria-label': 'Pinned', title: 'Pinned' }, icon(icons.pin)) : null,
      ];
      const a = s.chatAvatar(chat);
      const other = chat.isGroup ? null : s.otherParticipant(chat);
      const button = el('button', {
        type: 'button', class: `chat-item${unread ? ' unread' : ''}`, 'aria-current': chat.id === s.activeChatId ? 'true' : null,
        dataset: { chatId: chat.id }, onclick: () => this.open(chat.id),
      },
        avatar(api, { name: a.name, avatar: a.avatar, seed: a.seed, online: s.connection === 'open' && !!other?.online }),
        el('span', { class: 'chat-body' },
          el('span', { class: 'chat-top' }, el('span', { class: 'chat-name' }, s.chatName(chat)), el('span', { class: 'chat-time' }, time)),
          el('span', { class: 'chat-bottom' }, preview, ...marks,
            unread ? el('span', { class: `badge${muted ? ' muted-badge' : ''}`, 'aria-label': `${unread} unread ${unread === 1 ? 'message' : 'messages'}` }, String(unread)) : null)));
      return el('li', {}, button);
    });
    if (!this.filter && (archivedCount || this.showArchived)) {
      const row = this.showArchived
        ? el('button', { type: 'button', class: 'archived-row', onclick: () => { this.showArchived = false; this.renderChatList(); } }, icon(icons.back), 'Archived chats')
        : el('button', { type: 'button', class: 'archived-row', onclick: () => { this.showArchived = true; this.renderChatList(); } }, icon(icons.archive), `Archived (${archivedCount})`);
      items.unshift(el('li', {}, row));
    }
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
    const other1 = chat.isGroup ? null : s.otherParticipant(chat);
    const blocked = !!other1 && s.blocked.has(other1.id);
    this.blockedBar.hidden = !blocked;
    if (blocked) {
      this.blockedBar.replaceChildren(`You blocked ${other1.name}. `,
        el('button', { type: 'button', class: 'link-button', onclick: () => s.setBlocked(other1.id, false).catch(e => toast(e.message)) }, 'Unblock'));
    }
    this.conversation.querySelector('.composer').hidden = blocked;
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

    const newestBefore = this.renderedNewest;
    const rows = conversationRows(s, chat, conv.messages, s.pendingFor(chatId), s.uploadsFor(chatId), this.messageHandlers());
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
      if (row.upload) updateUploadProgress(node, row.upload);
      nextCache.set(row.key, { sig: row.sig, status: row.status, node, upload: row.upload });
      return node;
    });
    this.rowCache = nextCache;
    reconcile(this.messageList, nodes);
    this.renderedNewest = conv.newestSeq;

    this.olderStatus.textContent = conv.loadingOlder ? 'Loading earlier messages…'
      : !conv.loaded ? 'Loading messages…'
        : conv.hasOlder ? '' : rows.length ? 'This is the beginning of the conversation.' : 'No messages yet. Say hello!';
    this.renderHeader();

    const divider = this.messageList.querySelector('.unread-divider');
    if (reason === 'older') {
      box.scrollTop = previousTop + (box.scrollHeight - previousHeight);
    } else if ((reason === 'open' || reason === 'divider') && divider) {
      // Opened with unread messages: start at the first of them.
      this.dividerShown = true;
      box.scrollTop = Math.max(0, divider.offsetTop - 8);
    } else if (reason === 'open' || reason === 'sent' || (atBottom && !this.pinnedUp)) {
      box.scrollTop = box.scrollHeight;
    } else {
      box.scrollTop = previousTop;
      // Scrolled up: count what arrived below, unread until the user goes down to it.
      if (conv.newestSeq > (newestBefore ?? 0) && newestBefore) {
        this.newBelow += conv.messages.filter(m => m.seq > newestBefore && m.senderId !== s.me.id && m.type !== 'system').length;
      }
    }
    this.updateReading();
    // Not enough to scroll yet: fetch older pages until the pane is full or the history ends.
    if (conv.loaded && conv.hasOlder && box.scrollHeight <= box.clientHeight + 40) s.loadOlder(chatId);
  }

  /** Whether the newest message is on screen; the store reads (marks read) only then. */
  updateReading() {
    const box = this.messages;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    this.pinnedUp = !atBottom;
    if (atBottom) this.newBelow = 0;
    this.store.setReadingBottom(atBottom);
    this.jumpButton.hidden = atBottom;
    const count = this.jumpButton.querySelector('.jump-count');
    count.textContent = this.newBelow ? `${this.newBelow} new ${this.newBelow === 1 ? 'message' : 'messages'}` : '';
    this.jumpButton.classList.toggle('has-new', this.newBelow > 0);
    this.jumpButton.setAttribute('aria-label', this.newBelow ? `${count.textContent}: go to the newest` : 'Go to the newest message');
  }

  scrollToBottom() {
    this.messages.scrollTop = this.messages.scrollHeight;
    this.updateReading();
    this.input.focus();
  }

  renderUploadProgress() {
    for (const entry of this.rowCache.values()) if (entry.upload) updateUploadProgress(entry.node, entry.upload);
  }

  /** What a message's controls do (menu, quote, media). */
  messageHandlers() {
    return this._handlers ??= {
      openMenu: (m, anchor) => openMessageMenu(this.store, m, anchor, {
        reply: message => this.startReply(message),
        edit: message => this.startEdit(message),
        info: message => openMessageInfo(this.store, message),
        deleteForMe: message => this.store.deleteForMe(message.id).catch(e => toast(e.message)),
        deleteForEveryone: message => this.confirmDeleteForEveryone(message),
      }),
      goToMessage: (chatId, id) => this.goToMessage(chatId, id),
      openMedia: media => openViewer(api, media),
      mediaLoaded: () => { if (!this.pinnedUp) this.messages.scrollTop = this.messages.scrollHeight; },
    };
  }

  confirmDeleteForEveryone(message) {
    const m = modal('Delete message?');
    m.body.append(
      el('p', {}, 'It will be deleted for everyone in this chat.'),
      el('div', { class: 'dialog-actions' },
        el('button', { type: 'button', class: 'button', onclick: () => m.close() }, 'Cancel'),
        el('button', {
          type: 'button', class: 'button danger', onclick: () => {
            m.close();
            this.store.deleteForEveryone(message.id).catch(e => toast(e.message));
          },
        }, 'Delete for everyone')));
    m.body.querySelector('.danger')?.focus();
  }

  /** Opens a chat at one message (a search result, a quote), loading older pages until it is there. */
  async goToMessage(chatId, id) {
    if (this.store.activeChatId !== chatId) {
      this.open(chatId);
      await this.store.openChat(chatId).catch(() => {});
    }
    const found = await this.store.ensureLoaded(chatId, id);
    if (!found) {
      toast('That message is no longer here.');
      return;
    }
    this.flush();
    const row = this.messageList.querySelector(`.msg-row[data-message-id="${CSS.escape(id)}"]`);
    if (!row) return;
    this.pinnedUp = true;
    row.scrollIntoView({ block: 'center' });
    row.classList.remove('flash');
    void row.offsetWidth; // restart the highlight
    row.classList.add('flash');
    row.querySelector('.bubble')?.setAttribute('tabindex', '-1');
    row.querySelector('.bubble')?.focus({ preventScroll: true });
    this.updateReading();
  }

  onScroll() {
    const chatId = this.store.activeChatId;
    if (!chatId) return;
    this.updateReading();
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
    if (charCount(text.trim()) > MAX_MESSAGE_CHARS) {
      this.renderCounter();
      toast(`Messages can have at most ${MAX_MESSAGE_CHARS.toLocaleString('en')} characters. Shorten it or send it in parts.`);
      return;
    }
    const context = this.composeContext;
    if (context?.kind === 'edit') {
      this.store.editMessage(context.message.id, text)
        .then(() => this.clearComposeContext())
        .catch(e => toast(e.message));
      this.input.value = '';
      this.autosize();
      this.renderCounter();
      return;
    }
    this.store.send(chatId, text, context?.kind === 'reply' ? { replyTo: context.message.id } : {});
    this.clearComposeContext(false);
    this.input.value = '';
    sessionStorage.removeItem(`parley.draft.${chatId}`);
    this.autosize();
    this.renderCounter();
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

  /** Shows the length near the limit and refuses text over it (the send button is disabled). */
  renderCounter() {
    const length = charCount(this.input.value.trim());
    const over = length > MAX_MESSAGE_CHARS;
    this.counter.hidden = length < MAX_MESSAGE_CHARS - 500;
    this.counter.textContent = `${length.toLocaleString('en')} / ${MAX_MESSAGE_CHARS.toLocaleString('en')}`;
    this.counter.classList.toggle('over', over);
    this.counter.title = over ? `${(length - MAX_MESSAGE_CHARS).toLocaleString('en')} characters too many` : '';
    this.sendButton.disabled = over;
    this.input.setAttribute('aria-invalid', over ? 'true' : 'false');
  }

  startReply(message) {
    this.setComposeContext({ kind: 'reply', message });
  }

  startEdit(message) {
    this.setComposeContext({ kind: 'edit', message });
    this.input.value = message.content ?? '';
    this.autosize();
    this.renderCounter();
  }

  setComposeContext(context) {
    this.composeContext = context;
    const m = context.message;
    const who = context.kind === 'edit' ? 'Edit message' : m.senderId === this.store.me.id ? 'You' : senderName(this.store, m);
    this.replyBar.replaceChildren(
      el('div', { class: `context-quote ${context.kind}` },
        el('span', { class: 'context-author' }, context.kind === 'reply' ? `Replying to ${who}` : who),
        el('span', { class: 'context-text' }, previewText(m, this.store))),
      el('button', { type: 'button', class: 'icon-button', 'aria-label': context.kind === 'edit' ? 'Cancel editing' : 'Cancel reply', onclick: () => this.clearComposeContext() }, icon(icons.close)));
    this.replyBar.hidden = false;
    this.input.focus();
  }

  clearComposeContext(focus = true) {
    const wasEdit = this.composeContext?.kind === 'edit';
    this.composeContext = null;
    this.replyBar.hidden = true;
    this.replyBar.replaceChildren();
    if (wasEdit) {
      this.input.value = '';
      this.autosize();
      this.renderCounter();
    }
    if (focus) this.input.focus();
  }

  /** Files from the picker, a drop or a paste: a preview with a caption, then they upload and send. */
  attach(files) {
    const chatId = this.store.activeChatId;
    if (!chatId || !files.length) return;
    const m = modal(files.length === 1 ? 'Send file' : `Send ${files.length} files`, { className: 'attach-dialog' });
    const previews = files.map(file => {
      const url = /^(image|video)\//.test(file.type) ? URL.createObjectURL(file) : null;
      const visual = !url ? el('span', { class: 'file-icon', 'aria-hidden': 'true' }, icon(icons.file))
        : file.type.startsWith('video/') ? el('video', { src: url, muted: true, class: 'attach-preview' })
          : el('img', { src: url, alt: file.name, class: 'attach-preview' });
      m.onClose(() => { if (url) URL.revokeObjectURL(url); });
      return el('li', { class: 'attach-item' }, visual, el('span', { class: 'file-name' }, file.name || 'file'));
    });
    const caption = el('input', { id: 'attach-caption', autocomplete: 'off', placeholder: 'Add a caption' });
    const error = el('p', { class: 'form-error', role: 'alert' });
    const form = el('form', { class: 'stack' },
      el('ul', { class: 'attach-list', 'aria-label': 'Files' }, ...previews),
      el('div', { class: 'field' }, el('label', { for: 'attach-caption' }, 'Caption'), caption),
      error,
      el('div', { class: 'dialog-actions' }, el('button', { type: 'submit', class: 'button primary' }, 'Send')));
    form.addEventListener('submit', event => {
      event.preventDefault();
      try {
        const replyTo = this.composeContext?.kind === 'reply' ? this.composeContext.message.id : null;
        // The caption goes with the first file, as in the picker it was typed under.
        files.forEach((file, i) => this.store.sendFile(chatId, file, { caption: i === 0 ? caption.value : '', replyTo: i === 0 ? replyTo : null }));
        if (replyTo) this.clearComposeContext(false);
        m.close();
      } catch (e) {
        error.textContent = e.message;
      }
    });
    m.body.append(form);
    caption.focus();
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
