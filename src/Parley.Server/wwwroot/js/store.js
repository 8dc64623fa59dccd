// Client state and the chat protocol: chats, messages, presence, typing, receipts, the outbox.
// Views read the state and listen for `change` events ({what, chatId}); they never talk to the server.

import { ApiError, NetworkError } from './api.js';
import { Realtime } from './realtime.js';
import { uploadMedia, kindOf } from './media.js';
import { randomId } from './util.js';

const PAGE_SIZE = 40;
const TYPING_TTL_MS = 8_000;
const TYPING_RESEND_MS = 3_000;
const TYPING_IDLE_MS = 4_000;
const RESEND_AFTER_MS = 15_000;
/** The server's limit on message text (API.md "Limits"); the composer refuses longer text, it never cuts it. */
export const MAX_MESSAGE_CHARS = 4096;
/** How many characters the server's reply quotes keep of the message they answer. */
const QUOTE_CHARS = 100;

/** The number of characters of a text as the server counts them (API.md "Limits"): Unicode code
 * points, so an emoji is one character, not the two UTF-16 units `length` counts. */
export function charCount(text) {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** The first `count` characters of a text, never half an emoji. */
function firstChars(text, count) {
  if (text.length <= count) return text;
  let end = 0;
  for (const character of text) {
    if (count-- === 0) break;
    end += character.length;
  }
  return text.slice(0, end);
}

export const STATUS_LEVEL = { failed: -2, pending: -1, sent: 0, delivered: 1, read: 2 };
const LEVEL_STATUS = ['sent', 'delivered', 'read'];

export function messageId(m) { return m?.id ?? m?.messageId ?? null; }

function isRetryableError(code) {
  return /rate|too.?many|429|busy|unavailable|internal|timeout|5\d\d/i.test(String(code ?? ''));
}

class Conversation {
  constructor() {
    this.messages = []; // confirmed messages, ascending seq
    this.byId = new Map();
    this.lastKey = null;
    this.hasOlder = false;
    this.loaded = false;
    this.loading = null;
    this.loadingOlder = null;
  }

  /** Adds or merges a server message; returns true when something changed. */
  upsert(message) {
    const id = messageId(message);
    if (!id) return false;
    const m = { ...message, id, messageId: id };
    const existing = this.byId.get(id);
    if (existing) {
      // Statuses only move forward, whatever order the answers arrive in.
      if ((STATUS_LEVEL[existing.status] ?? 0) > (STATUS_LEVEL[m.status] ?? 0)) m.status = existing.status;
      Object.assign(existing, m);
      return true;
    }
    this.byId.set(id, m);
    const list = this.messages;
    let i = list.length;
    while (i > 0 && (list[i - 1].seq ?? 0) > (m.seq ?? 0)) i--;
    list.splice(i, 0, m);
    return true;
  }

  /** Drops a message the server deleted for good (a disappearing message whose time ran out). */
  remove(id) {
    if (!this.byId.delete(id)) return false;
    this.messages = this.messages.filter(m => m.id !== id);
    return true;
  }

  get newestSeq() { return this.messages.length ? this.messages[this.messages.length - 1].seq ?? 0 : 0; }
  get oldestSeq() { return this.messages.length ? this.messages[0].seq ?? 0 : 0; }
}

export class ChatStore extends EventTarget {
  constructor(api) {
    super();
    this.api = api;
    this.me = api.user;
    this.chats = new Map();
    this.conversations = new Map();
    this.users = new Map();
    this.blocked = new Set(); // users this account blocked (as far as searches and our own actions told us)
    this.typing = new Map(); // chatId → Map(userId → timer)
    this.watermarks = new Map(); // chatId → Map(userId → {delivered, read}) in seq
    this.outbox = [];
    this.cursor = null;
    this.activeChatId = null;
    this.connection = 'connecting';
    this.ready = false;
    this._frames = Promise.resolve();
    this._markTimers = new Map();
    this._readSent = new Map();
    this._deliveredSent = new Map();
    this._receiptTimers = new Map();
    this._lastSeenAsked = new Set();
    this._typingOut = { chatId: null, sentAt: 0, idleTimer: 0 };
    this._stopped = false;
    this._bootAttempt = 0;
    this._outboxKey = `parley.outbox.${this.me.id}`;
    this.uploads = []; // files on their way to /media: {clientMessageId, chatId, file, kind, progress, caption, replyTo, error}
    this.readingBottom = true; // the open conversation is scrolled to its newest message
    this._loadOutbox();

    this.realtime = new Realtime({
      // A one-use ticket, not the access token: a URL shows up in consoles ("WebSocket connection
      // to ... failed") and logs, and a spent ticket is worth nothing there.
      url: async since => {
        const { ticket } = await this.api.post('/ws/ticket');
        const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
        const params = new URLSearchParams({ ticket });
        if (since !== null && since !== undefined) params.set('since', String(since));
        return `${proto}//${location.host}/ws?${params}`;
      },
      cursor: () => this.cursor,
      // Before retrying: a cheap authenticated call proves the server is back, refreshes an expired
      // token, and checks the server still knows our cursor (the socket is refused before the upgrade
      // otherwise, which a browser cannot tell apart from a network error).
      beforeConnect: () => this._probe(),
    });
    this.realtime.addEventListener('state', e => {
      this.connection = e.detail;
      this._emit('connection');
    });
    this.realtime.addEventListener('open', e => this._onOpen(e.detail.resumed));
    this.realtime.addEventListener('frame', e => this._enqueueFrame(e.detail));

    this._onVisibility = () => {
      if (document.visibilityState === 'visible' && this.activeChatId) this._scheduleMarks(this.activeChatId, 0);
      if (document.visibilityState !== 'visible') this.stopTyping();
    };
    document.addEventListener('visibilitychange', this._onVisibility);
    this._resendTimer = setInterval(() => this._resendStale(), 5_000);
  }

  _emit(what, chatId = null) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what, chatId } }));
  }

  toast(message) {
    this.dispatchEvent(new CustomEvent('toast', { detail: message }));
  }

  // ---- start and stop -------------------------------------------------------------------------

  /** Loads the first picture (cursor, profile, chats) and opens the socket. Retries while the server is away. */
  async start() {
    while (!this._stopped) {
      try {
        // The cursor first: everything after it arrives on the socket, so nothing falls between the two.
        try {
          const sync = await this.api.get('/sync');
          if (sync && sync.cursor !== undefined && sync.cursor !== null) this.cursor = sync.cursor;
        } catch (error) {
          if (error instanceof NetworkError || (error instanceof ApiError && error.status === 401)) throw error;
          // No /sync on this server: resume from the live stream only.
        }
        const profile = await this.api.get('/users/me');
        if (profile) this._absorbProfile(profile);
        await this.loadChats();
        this.ready = true;
        this._emit('ready');
        this.realtime.start();
        return;
      } catch (error) {
        if (this._stopped || !this.api.signedIn) return;
        if (error instanceof ApiError && error.status < 500 && error.status !== 429 && error.status !== 404) throw error;
        this._bootAttempt++;
        const delay = Math.min(15_000, 500 * 2 ** (this._bootAttempt - 1)) * (0.7 + Math.random() * 0.6);
        await new Promise(resolve => setTimeout(resolve, delay));
      }
    }
  }

  stop() {
    this._stopped = true;
    this.realtime.stop();
    clearInterval(this._resendTimer);
    document.removeEventListener('visibilitychange', this._onVisibility);
    for (const timer of this._markTimers.values()) clearTimeout(timer);
    for (const timer of this._receiptTimers.values()) clearTimeout(timer);
    for (const map of this.typing.values()) for (const timer of map.values()) clearTimeout(timer);
    clearTimeout(this._typingOut.idleTimer);
  }

  _absorbProfile(profile) {
    this.me = { ...this.me, ...profile, id: profile.id ?? this.me.id };
    this.api.updateUser({ name: profile.name, email: profile.email });
    this._emit('me');
  }

  async _probe() {
    if (this.cursor === null || this.cursor === undefined) {
      await this.api.get('/sync');
      return;
    }
    try {
      await this.api.get(`/sync?since=${encodeURIComponent(this.cursor)}&limit=1`);
    } catch (error) {
      // 410: a cursor this server no longer knows; 400: one it cannot read (a damaged copy).
      if (!(error instanceof ApiError) || (error.status !== 410 && error.status !== 400)) throw error;
      await this._startOver();
    }
  }

  /** The server no longer knows our cursor (its store was replaced): take a new one and reload everything. */
  async _startOver() {
    const sync = await this.api.get('/sync');
    this.cursor = sync?.cursor ?? null;
    this.conversations.clear();
    this.watermarks.clear();
    this._readSent.clear();
    this._deliveredSent.clear();
    await this.loadChats();
    if (this.activeChatId && this.chats.has(this.activeChatId)) await this.loadLatest(this.activeChatId);
    this._emit('messages', this.activeChatId);
  }

  async _onOpen(resumed) {
    this._flushOutbox();
    if (resumed) {
      // Missed events arrive first on the socket (since=cursor); presence and counts are refreshed here.
      try {
        // After the frames received so far, so an older replayed summary cannot win over this one.
        const reload = this._frames.then(() => this.loadChats());
        this._frames = reload.catch(() => {});
        await reload;
        const active = this.activeChatId;
        if (active) await this.loadLatest(active, { refresh: true });
      } catch {
        // The socket will drop again if the server is gone; nothing to do here.
      }
    }
    for (const chatId of this.chats.keys()) this._scheduleMarks(chatId, 50);
  }

  // ---- chats ------------------------------------------------------------------------------------

  async loadChats() {
    const list = await this.api.get('/chats');
    const seen = new Set();
    for (const summary of list ?? []) {
      seen.add(summary.id);
      this._upsertChat(summary, { replace: true });
    }
    for (const id of [...this.chats.keys()]) {
      if (!seen.has(id)) this._removeChat(id, false);
    }
    this._emit('chats');
  }

  async refreshChat(chatId) {
    try {
      const summary = await this.api.get(`/chats/${encodeURIComponent(chatId)}`);
      if (summary) this._upsertChat(summary, { replace: true });
      this._emit('chats', chatId);
      return summary;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this._removeChat(chatId, true);
        return null;
      }
      throw error;
    }
  }

  _upsertChat(summary, { replace = false, fresh = false } = {}) {
    const existing = this.chats.get(summary.id);
    const chat = replace || !existing ? { ...summary } : { ...existing, ...summary };
    chat._localActivity = existing?._localActivity ?? (fresh ? Date.now() : 0);
    if (existing && !replace) chat.unreadCount = existing.unreadCount; // a replayed summary may carry an old count
    // A summary carries the last message it knew; never step back to an older one.
    if (existing?.lastMessage && chat.lastMessage && (existing.lastMessage.seq ?? 0) > (chat.lastMessage.seq ?? 0)) {
      chat.lastMessage = existing.lastMessage;
      chat.lastMessageTime = existing.lastMessageTime;
    }
    if (chat.lastMessage) chat.lastMessage = { ...chat.lastMessage, id: messageId(chat.lastMessage), messageId: messageId(chat.lastMessage) };
    this.chats.set(chat.id, chat);
    for (const p of chat.participants ?? []) {
      const known = this.users.get(p.id) ?? {};
      this.users.set(p.id, {
        ...known, id: p.id, name: p.name ?? known.name, email: p.email ?? known.email, avatar: p.avatar ?? known.avatar,
        online: p.online ?? known.online, lastSeen: Math.max(p.lastSeen ?? 0, known.lastSeen ?? 0) || (p.lastSeen ?? known.lastSeen),
        photoUrl: p.photoUrl ?? known.photoUrl,
      });
    }
    if (summary.isTyping === false) this.typing.delete(chat.id);
    else if (summary.isTyping === true && !chat.isGroup) {
      const other = this.otherParticipant(chat);
      if (other?.id) this._onTyping({ chatId: chat.id, userId: other.id, isTyping: true }, false);
    }
    delete chat.isTyping;
    // A chat someone else wrote in since we last looked: tell the sender it arrived.
    if (chat.unreadCount > 0) this._scheduleMarks(chat.id, 50);
    return chat;
  }

  _removeChat(chatId, notify) {
    const chat = this.chats.get(chatId);
    this.chats.delete(chatId);
    this.conversations.delete(chatId);
    this.typing.delete(chatId);
    this.watermarks.delete(chatId);
    if (this.outbox.some(o => o.chatId === chatId)) {
      this.outbox = this.outbox.filter(o => o.chatId !== chatId);
      this._saveOutbox();
    }
    if (this.activeChatId === chatId) {
      this.activeChatId = null;
      if (notify && chat) this.toast(`You are no longer in ${this.chatName(chat)}.`);
      this._emit('active');
    }
    this._emit('chats', chatId);
  }

  /** The chats, most recent activity first. */
  sortedChats() {
    // Pinned chats first, then by activity.
    const pinned = chat => (chat.settings?.pinned ? 1 : 0);
    return [...this.chats.values()].sort((a, b) => pinned(b) - pinned(a) || this.activity(b) - this.activity(a) || String(a.id).localeCompare(String(b.id)));
  }

  activity(chat) {
    const pending = this.pendingFor(chat.id);
    return Math.max(chat.lastMessageTime ?? 0, chat.lastMessage?.timestamp ?? 0,
      pending.length ? pending[pending.length - 1].createdAt : 0, chat._localActivity ?? 0);
  }

  otherParticipant(chat) {
    if (!chat || chat.isGroup) return null;
    const other = (chat.participants ?? []).find(p => p.id !== this.me.id);
    if (other) return { ...other, ...(this.users.get(other.id) ?? {}) };
    // chat_{a}_{b}: the id names both users.
    const ids = String(chat.id).replace(/^chat_/, '');
    const otherId = ids.startsWith(this.me.id) ? ids.slice(this.me.id.length + 1) : ids.slice(0, ids.length - this.me.id.length - 1);
    return this.users.get(otherId) ?? { id: otherId, name: 'Unknown' };
  }

  chatName(chat) {
    if (!chat) return '';
    if (chat.isGroup) return chat.groupName || chat.name || 'Group';
    return this.otherParticipant(chat)?.name || 'Unknown';
  }

  chatAvatar(chat) {
    if (chat.isGroup) return { name: this.chatName(chat), avatar: null, seed: chat.id };
    const other = this.otherParticipant(chat);
    return { name: other?.name ?? '?', avatar: other?.photoUrl || other?.avatar || null, seed: other?.id ?? chat.id };
  }

  /** The other members of a chat (user ids). */
  otherMembers(chat) {
    const ids = chat.isGroup && Array.isArray(chat.members) ? chat.members : (chat.participants ?? []).map(p => p.id);
    return ids.filter(id => id !== this.me.id);
  }

  isAdmin(chat, userId = this.me.id) {
    return Array.isArray(chat?.admins) && chat.admins.includes(userId);
  }

  userName(userId) {
    if (userId === this.me.id) return 'You';
    return this.users.get(userId)?.name ?? 'Someone';
  }

  // ---- conversations ----------------------------------------------------------------------------

  conversation(chatId) {
    let conv = this.conversations.get(chatId);
    if (!conv) {
      conv = new Conversation();
      this.conversations.set(chatId, conv);
    }
    return conv;
  }

  async openChat(chatId) {
    this.stopTyping();
    const chat = this.chats.get(chatId);
    // Where the unread messages start, as it was when the chat was opened: the divider stays there
    // while the chat is open, though reading moves the mark.
    const unread = chat?.unreadCount ?? 0;
    this.unreadDivider = { chatId, count: unread, seq: null };
    this.activeChatId = chatId;
    // Opening a chat reads what is in it, wherever the view starts; later arrivals are read only
    // while the newest message is on screen.
    this._readOnOpen = chatId;
    this._emit('active', chatId);
    if (chat && !chat.isGroup) this.ensureLastSeen(this.otherParticipant(chat)?.id);
    const conv = this.conversation(chatId);
    if (!conv.loaded) await this.loadLatest(chatId);
    if (unread > 0) this._findFirstUnread(chatId, unread);
    this._scheduleMarks(chatId, 0);
  }

  /** The seq of the first unread message: the unread-th newest message from someone else, if it is
   * loaded. A chat opens with its newest page only (a long absence must not load the whole history);
   * when the first unread is older, the divider appears once scrolling up loads it. */
  _findFirstUnread(chatId, unread, { scroll = true } = {}) {
    const conv = this.conversation(chatId);
    let seen = 0;
    for (let i = conv.messages.length - 1; i >= 0; i--) {
      if (conv.messages[i].senderId !== this.me.id) seen++;
      if (seen === unread) {
        if (this.unreadDivider?.chatId === chatId) this.unreadDivider.seq = conv.messages[i].seq;
        this._emit(scroll ? 'divider' : 'messages', chatId);
        return;
      }
    }
  }

  closeChat() {
    this.stopTyping();
    this.unreadDivider = null;
    this.activeChatId = null;
    this._emit('active');
  }

  /** Whether new messages in the chat are being read now: open, on screen, scrolled to the newest. */
  isVisible(chatId) {
    return this.activeChatId === chatId && document.visibilityState === 'visible' && this.readingBottom;
  }

  /** The newest page of a chat; with refresh, merged into what is loaded (statuses, missed messages). */
  loadLatest(chatId, { refresh = false } = {}) {
    const conv = this.conversation(chatId);
    if (conv.loading) return conv.loading;
    conv.loading = (async () => {
      try {
        const page = await this.api.get(`/chats/${encodeURIComponent(chatId)}/messages?limit=${PAGE_SIZE}`);
        const messages = page?.messages ?? [];
        const oldestOfPage = messages.length ? messages[messages.length - 1].seq ?? 0 : 0;
        // A gap between what we hold and this page (a long absence without resume): start over from this page.
        if (conv.loaded && messages.length && oldestOfPage > conv.newestSeq + 1) {
          conv.messages = [];
          conv.byId.clear();
          conv.loaded = false;
        }
        for (const m of messages) this._absorbMessage(chatId, m, conv);
        if (!conv.loaded || !refresh) {
          conv.lastKey = page?.lastKey ?? null;
          conv.hasOlder = !!conv.lastKey;
        }
        conv.loaded = true;
        this._emit('messages', chatId);
        this._scheduleMarks(chatId, 0);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) this._removeChat(chatId, true);
        else if (!(error instanceof NetworkError)) this.toast(error.message);
      } finally {
        conv.loading = null;
      }
    })();
    return conv.loading;
  }

  /** The next older page (infinite scroll upward). */
  loadOlder(chatId) {
    const conv = this.conversation(chatId);
    if (!conv.hasOlder || !conv.lastKey || conv.loadingOlder) return conv.loadingOlder ?? Promise.resolve();
    conv.loadingOlder = (async () => {
      try {
        const page = await this.api.get(`/chats/${encodeURIComponent(chatId)}/messages?limit=${PAGE_SIZE}&lastKey=${encodeURIComponent(conv.lastKey)}`);
        for (const m of page?.messages ?? []) this._absorbMessage(chatId, m, conv);
        conv.lastKey = page?.lastKey ?? null;
        conv.hasOlder = !!conv.lastKey && (page?.messages?.length ?? 0) > 0;
        const divider = this.unreadDivider;
        if (divider?.chatId === chatId && !divider.seq) this._findFirstUnread(chatId, divider.count, { scroll: false });
        this._emit('older', chatId);
      } catch (error) {
        if (!(error instanceof NetworkError)) this.toast(error.message);
      } finally {
        conv.loadingOlder = null;
      }
    })();
    return conv.loadingOlder;
  }

  /** Takes a message from history into a conversation, resolving an outbox entry whose ack was lost. */
  _absorbMessage(chatId, m, conv) {
    if (m.senderId === this.me.id && m.clientMessageId) this._resolveOutbox(m.clientMessageId, m);
    conv.upsert(m);
  }

  /** Confirmed messages followed by our own not yet acknowledged ones. */
  pendingFor(chatId) {
    return this.outbox.filter(o => o.chatId === chatId);
  }

  // ---- the status of our own messages -----------------------------------------------------------

  _watermark(chatId, userId) {
    let chat = this.watermarks.get(chatId);
    if (!chat) this.watermarks.set(chatId, chat = new Map());
    let w = chat.get(userId);
    if (!w) chat.set(userId, w = { delivered: 0, read: 0 });
    return w;
  }

  /** sent / delivered / read of one of our messages: the least advanced over the other members. */
  statusOf(chat, m) {
    if (!m) return null;
    if (m.pending) return m.failed ? 'failed' : 'pending';
    let level = STATUS_LEVEL[m.status] ?? 0;
    if (level < 0) level = 0;
    const marks = this.watermarks.get(chat?.id);
    const others = chat ? this.otherMembers(chat) : [];
    if (marks && others.length && m.seq) {
      let computed = 2;
      for (const userId of others) {
        const w = marks.get(userId);
        const l = !w ? 0 : w.read >= m.seq ? 2 : w.delivered >= m.seq ? 1 : 0;
        computed = Math.min(computed, l);
      }
      level = Math.max(level, computed);
    }
    return LEVEL_STATUS[level];
  }

  _findMessage(chatId, id) {
    const conv = this.conversations.get(chatId);
    const m = conv?.byId.get(id);
    if (m) return m;
    const last = this.chats.get(chatId)?.lastMessage;
    return last && messageId(last) === id ? last : null;
  }

  // ---- frames -------------------------------------------------------------------------------------

  _enqueueFrame(frame) {
    // One at a time, in arrival order: a frame may need a fetch (an unknown chat) before the next one.
    this._frames = this._frames.then(() => this._handleFrame(frame)).catch(error => console.error('frame', frame?.type, error));
  }

  async _handleFrame(frame) {
    const data = frame.data ?? {};
    try {
      switch (frame.type) {
        case 'ack': this._onAck(data); break;
        case 'message': await this._onMessage(data); break;
        case 'messageUpdated': this._onMessageUpdated(data); break;
        case 'status': await this._onStatus(data); break;
        case 'typing': this._onTyping(data); break;
        case 'presence': this._onPresence(data); break;
        case 'user': this._onUser(data); break;
        case 'chat': this._onChat(data); break;
        case 'error': this._onError(data); break;
        default: break;
      }
    } finally {
      const cursor = frame.cursor ?? data.cursor;
      if (cursor !== undefined && cursor !== null) this.cursor = cursor;
    }
  }

  /** Events from /sync have the shape of socket frames. */
  async applyEvents(events) {
    for (const event of events ?? []) await this._handleFrame(event);
  }

  _onAck(ack) {
    const entry = this.outbox.find(o => o.clientMessageId === ack.clientMessageId);
    // No entry: the message reached us first (history or another frame) and is already in place.
    if (!entry) return;
    const chatId = ack.chatId ?? entry.chatId;
    const message = {
      id: ack.messageId, messageId: ack.messageId, chatId, seq: ack.seq, timestamp: ack.timestamp ?? Date.now(),
      senderId: this.me.id, senderName: this.me.name, senderAvatar: this.me.avatar, content: entry.content || null,
      type: entry.type ?? 'text', status: 'sent', clientMessageId: ack.clientMessageId,
    };
    if (entry.replyTo) Object.assign(message, { replyTo: entry.replyTo, quote: entry.quote });
    if (entry.media) message.media = entry.media;
    this._resolveOutbox(ack.clientMessageId, message);
  }

  /** Our queued message is stored: it leaves the outbox and takes its place in the conversation. */
  _resolveOutbox(clientMessageId, message) {
    const index = this.outbox.findIndex(o => o.clientMessageId === clientMessageId);
    if (index < 0) return false;
    this.outbox.splice(index, 1);
    this._saveOutbox();
    this._noteMessage(message.chatId, message);
    return true;
  }

  /** A confirmed message of ours: becomes the chat's last message if it is the newest. */
  _noteMessage(chatId, message) {
    const chat = this.chats.get(chatId);
    const conv = this.conversations.get(chatId);
    if (conv?.loaded) conv.upsert(message);
    if (chat && (message.seq ?? 0) >= (chat.lastMessage?.seq ?? 0)) {
      chat.lastMessage = { ...(chat.lastMessage?.id === message.id ? chat.lastMessage : {}), ...message };
      chat.lastMessageTime = message.timestamp;
    }
    this._emit('messages', chatId);
    this._emit('chats', chatId);
  }

  async _onMessage(raw) {
    const m = { ...raw, id: messageId(raw), messageId: messageId(raw) };
    const chatId = m.chatId;
    let chat = this.chats.get(chatId);
    if (!chat) {
      // A chat we did not know: its summary counts this message already.
      try { chat = await this.refreshChat(chatId); } catch { chat = null; }
      if (!chat) return;
      const conv = this.conversations.get(chatId);
      if (conv?.loaded) conv.upsert(m);
      this._scheduleMarks(chatId, 0);
      this._emit('chats', chatId);
      return;
    }
    const fromMe = m.senderId === this.me.id;
    if (fromMe && m.clientMessageId) this._resolveOutbox(m.clientMessageId, m);
    const isNew = (m.seq ?? 0) > (chat.lastMessage?.seq ?? 0);
    if (isNew) {
      chat.lastMessage = m;
      chat.lastMessageTime = m.timestamp;
      if (!fromMe) chat.unreadCount = this.isVisible(chatId) ? 0 : (chat.unreadCount ?? 0) + 1;
    }
    const conv = this.conversations.get(chatId);
    if (conv?.loaded) conv.upsert(m);
    if (!fromMe) {
      this._clearTyping(chatId, m.senderId);
      this._scheduleMarks(chatId, 0);
      if (isNew && m.type !== 'system') this.dispatchEvent(new CustomEvent('incoming', { detail: m }));
    }
    this._emit('messages', chatId);
    this._emit('chats', chatId);
  }

  _onMessageUpdated(raw) {
    const m = { ...raw, id: messageId(raw), messageId: messageId(raw) };
    if (m.expired) {
      this._onMessageExpired(m);
      return;
    }
    const conv = this.conversations.get(m.chatId);
    if (conv?.byId.has(m.id)) conv.upsert(m);
    // Replies quoting it show the edit, or lose the quote of a deleted message (as the server's copies do).
    for (const reply of conv?.messages ?? []) {
      if (reply.replyTo === m.id && reply.quote) reply.quote = { ...reply.quote, content: m.deleted ? '' : firstChars(m.content ?? '', QUOTE_CHARS) };
    }
    const chat = this.chats.get(m.chatId);
    if (chat?.lastMessage && messageId(chat.lastMessage) === m.id) chat.lastMessage = { ...chat.lastMessage, ...m };
    this._emit('messages', m.chatId);
    this._emit('chats', m.chatId);
  }

  /** A disappearing message ran out: it goes from the conversation and the chat list. */
  _onMessageExpired(m) {
    const conv = this.conversations.get(m.chatId);
    conv?.remove(m.id);
    const chat = this.chats.get(m.chatId);
    if (chat?.lastMessage && messageId(chat.lastMessage) === m.id) {
      const newest = conv?.messages[conv.messages.length - 1];
      if (newest) chat.lastMessage = newest;
      else this.refreshChat(m.chatId).catch(() => {});
    }
    this._emit('messages', m.chatId);
    this._emit('chats', m.chatId);
  }

  async _onStatus(s) {
    const { chatId, userId, status } = s;
    const chat = this.chats.get(chatId);
    if (!chat || !userId) return;
    const target = this._findMessage(chatId, s.messageId);
    if (target?.seq) {
      const w = this._watermark(chatId, userId);
      w.delivered = Math.max(w.delivered, target.seq);
      if (status === 'read') w.read = Math.max(w.read, target.seq);
    } else {
      // A message we have not loaded: ask for the newest page, whose statuses are current.
      const conv = this.conversations.get(chatId);
      if (conv?.loaded) this.loadLatest(chatId, { refresh: true });
    }
    if (chat.isGroup && chat.lastMessage) this._scheduleReceipts(chatId, s.messageId);
    this._emit('messages', chatId);
    this._emit('chats', chatId);
  }

  /** In a group a frame names one member; the receipts of the message tell where every member is. */
  _scheduleReceipts(chatId, id) {
    clearTimeout(this._receiptTimers.get(chatId));
    this._receiptTimers.set(chatId, setTimeout(async () => {
      this._receiptTimers.delete(chatId);
      const target = this._findMessage(chatId, id);
      if (!target?.seq) return;
      try {
        const receipts = await this.api.get(`/messages/${encodeURIComponent(id)}/receipts`);
        for (const r of receipts ?? []) {
          const w = this._watermark(chatId, r.userId);
          if (r.status === 'delivered' || r.status === 'read') w.delivered = Math.max(w.delivered, target.seq);
          if (r.status === 'read') w.read = Math.max(w.read, target.seq);
        }
        this._emit('messages', chatId);
        this._emit('chats', chatId);
      } catch {
        // Receipts are a refinement; the next status frame tries again.
      }
    }, 250));
  }

  _onTyping({ chatId, userId, isTyping }, emit = true) {
    if (!chatId || !userId || userId === this.me.id) return;
    if (isTyping) {
      let map = this.typing.get(chatId);
      if (!map) this.typing.set(chatId, map = new Map());
      clearTimeout(map.get(userId));
      map.set(userId, setTimeout(() => this._clearTyping(chatId, userId), TYPING_TTL_MS));
    } else {
      this._clearTyping(chatId, userId, false);
    }
    if (emit) this._emit('typing', chatId);
  }

  _clearTyping(chatId, userId, emit = true) {
    const map = this.typing.get(chatId);
    if (!map?.has(userId)) return;
    clearTimeout(map.get(userId));
    map.delete(userId);
    if (map.size === 0) this.typing.delete(chatId);
    if (emit) this._emit('typing', chatId);
  }

  /** Who is typing in a chat (user ids). */
  typingIn(chatId) {
    return [...(this.typing.get(chatId)?.keys() ?? [])];
  }

  _onPresence({ userId, online, lastSeen }) {
    if (!userId) return;
    const known = this.users.get(userId) ?? { id: userId };
    this.users.set(userId, { ...known, online: !!online, lastSeen: lastSeen ?? known.lastSeen });
    for (const chat of this.chats.values()) {
      for (const p of chat.participants ?? []) if (p.id === userId) p.online = !!online;
    }
    if (!online) this._clearTypingEverywhere(userId);
    this._emit('presence', userId);
  }

  /** Someone changed their profile: names, photos and about update everywhere at once. */
  _onUser({ userId, name, avatar, about, photoUrl }) {
    if (!userId) return;
    if (userId === this.me.id) {
      this._absorbProfile({ ...this.me, name: name ?? this.me.name, avatar, about, photoUrl });
    }
    const known = this.users.get(userId) ?? { id: userId };
    this.users.set(userId, { ...known, name: name ?? known.name, avatar, about, photoUrl });
    for (const chat of this.chats.values()) {
      for (const p of chat.participants ?? []) {
        if (p.id === userId) Object.assign(p, { name: name ?? p.name, avatar, photoUrl });
      }
    }
    this._emit('chats');
    this._emit('profile', userId);
    if (this.activeChatId) this._emit('messages', this.activeChatId);
  }

  _clearTypingEverywhere(userId) {
    for (const chatId of [...this.typing.keys()]) this._clearTyping(chatId, userId);
  }

  _onChat(summary) {
    if (!summary?.id) return;
    if (summary.removed) {
      this._removeChat(summary.id, true);
      return;
    }
    this._upsertChat(summary, { replace: false, fresh: !this.chats.has(summary.id) });
    this._emit('chats', summary.id);
    this._emit('messages', summary.id);
  }

  _onError(e) {
    const entry = e.clientMessageId ? this.outbox.find(o => o.clientMessageId === e.clientMessageId) : null;
    if (entry) {
      if (isRetryableError(e.code) || isRetryableError(e.error)) {
        entry.sentAt = Date.now() - RESEND_AFTER_MS + 2_000; // the watchdog resends it in a couple of seconds
      } else {
        entry.failed = true;
        entry.error = e.error || 'Not sent.';
        this._saveOutbox();
        this._emit('messages', entry.chatId);
        this._emit('chats', entry.chatId);
      }
      return;
    }
    if (e.error) this.toast(e.error);
  }

  // ---- sending --------------------------------------------------------------------------------------

  /** Messages written but not yet stored by the server (the outbox, and files still uploading). */
  get unsentCount() {
    return this.outbox.length + this.uploads.length;
  }

  /** Signing out on purpose: drafts go; unsent messages stay in this browser's outbox (under this
   * account's id) and are sent the next time this account signs in here. */
  forgetLocalData() {
    for (const upload of this.uploads) upload.request?.abort();
    this.uploads = [];
    for (const key of Object.keys(sessionStorage)) if (key.startsWith('parley.draft.')) sessionStorage.removeItem(key);
  }

  _loadOutbox() {
    try {
      const saved = JSON.parse(localStorage.getItem(this._outboxKey) ?? '[]');
      this.outbox = Array.isArray(saved) ? saved.filter(o => o?.clientMessageId && o.chatId && (typeof o.content === 'string' || o.media)) : [];
    } catch {
      this.outbox = [];
    }
  }

  _saveOutbox() {
    try {
      if (this.outbox.length) localStorage.setItem(this._outboxKey, JSON.stringify(this.outbox.map(({ sentAt, ...o }) => o)));
      else localStorage.removeItem(this._outboxKey);
    } catch {
      // Storage full or disabled: the outbox still lives in memory.
    }
  }

  /** Queues a message; it goes now if connected, otherwise as soon as the socket is back.
   * extra: {replyTo, type, media} (a media message's content is its caption). */
  send(chatId, content, extra = {}) {
    const text = (content ?? '').trim();
    if (!text && !extra.media) return;
    if (charCount(text) > MAX_MESSAGE_CHARS) throw new Error(`A message can have at most ${MAX_MESSAGE_CHARS.toLocaleString('en')} characters.`);
    this.stopTyping();
    const entry = { clientMessageId: extra.clientMessageId ?? `c_${randomId()}`, chatId, content: text, createdAt: Date.now(), sentAt: 0 };
    if (extra.replyTo) {
      entry.replyTo = extra.replyTo;
      const quoted = this._findMessage(chatId, extra.replyTo);
      entry.quote = { messageId: extra.replyTo, content: quoted?.deleted ? '' : quoted?.content ?? '', senderId: quoted?.senderId };
    }
    if (extra.media) {
      entry.type = extra.type;
      entry.media = extra.media;
    }
    this.outbox.push(entry);
    this._saveOutbox();
    this._transmit(entry);
    this._emit('messages', chatId);
    this._emit('chats', chatId);
    this._emit('sent', chatId);
  }

  retry(clientMessageId) {
    const entry = this.outbox.find(o => o.clientMessageId === clientMessageId);
    if (!entry) return;
    entry.failed = false;
    entry.error = null;
    this._saveOutbox();
    this._transmit(entry);
    this._emit('messages', entry.chatId);
  }

  discard(clientMessageId) {
    const entry = this.outbox.find(o => o.clientMessageId === clientMessageId);
    if (!entry) return;
    this.outbox = this.outbox.filter(o => o !== entry);
    this._saveOutbox();
    this._emit('messages', entry.chatId);
    this._emit('chats', entry.chatId);
  }

  // ---- files ------------------------------------------------------------------------------------------

  /** Uploads a file with progress, then sends it as a photo, video, voice or file message. */
  sendFile(chatId, file, { caption = '', replyTo = null } = {}) {
    if (charCount(caption.trim()) > MAX_MESSAGE_CHARS) throw new Error(`A caption can have at most ${MAX_MESSAGE_CHARS.toLocaleString('en')} characters.`);
    const upload = {
      clientMessageId: `c_${randomId()}`, chatId, file, kind: kindOf(file), name: file.name || 'file', size: file.size,
      progress: 0, caption: caption.trim(), replyTo, error: null, createdAt: Date.now(), previewUrl: null,
    };
    if (upload.kind === 'image' || upload.kind === 'video') upload.previewUrl = URL.createObjectURL(file);
    this.uploads.push(upload);
    this._startUpload(upload);
    this._emit('messages', chatId);
    this._emit('sent', chatId);
    return upload.clientMessageId;
  }

  _startUpload(upload) {
    upload.error = null;
    upload.progress = 0;
    let lastEmit = 0;
    upload.request = uploadMedia(this.api, upload.file, fraction => {
      upload.progress = fraction;
      const now = Date.now();
      if (now - lastEmit > 100 || fraction >= 1) {
        lastEmit = now;
        this._emit('upload', upload.chatId);
      }
    });
    upload.request.then(answer => {
      this.uploads = this.uploads.filter(u => u !== upload);
      this.send(upload.chatId, upload.caption, {
        clientMessageId: upload.clientMessageId,
        replyTo: upload.replyTo,
        type: upload.kind,
        media: { mediaId: answer.mediaId, fileName: upload.name, contentType: answer.contentType, size: answer.size, url: answer.url },
      });
    }, error => {
      if (error?.name === 'AbortError') return;
      upload.error = error?.message || 'The upload failed.';
      this._emit('messages', upload.chatId);
    });
  }

  retryUpload(clientMessageId) {
    const upload = this.uploads.find(u => u.clientMessageId === clientMessageId);
    if (!upload) return;
    this._startUpload(upload);
    this._emit('messages', upload.chatId);
  }

  cancelUpload(clientMessageId) {
    const upload = this.uploads.find(u => u.clientMessageId === clientMessageId);
    if (!upload) return;
    upload.request?.abort();
    this.uploads = this.uploads.filter(u => u !== upload);
    if (upload.previewUrl) URL.revokeObjectURL(upload.previewUrl);
    this._emit('messages', upload.chatId);
  }

  uploadsFor(chatId) {
    return this.uploads.filter(u => u.chatId === chatId);
  }

  // ---- changing messages --------------------------------------------------------------------------

  async editMessage(id, content) {
    const text = content.trim();
    if (!text) throw new Error('A message cannot be empty.');
    if (charCount(text) > MAX_MESSAGE_CHARS) throw new Error(`A message can have at most ${MAX_MESSAGE_CHARS.toLocaleString('en')} characters.`);
    const updated = await this.api.patch(`/messages/${encodeURIComponent(id)}`, { content: text });
    if (updated) this._onMessageUpdated(updated);
  }

  async deleteForEveryone(id) {
    await this.api.delete(`/messages/${encodeURIComponent(id)}?for=everyone`);
    // The messageUpdated frame follows; show it at once.
    const m = this._findMessageAnywhere(id);
    if (m) this._onMessageUpdated({ ...m, content: null, media: undefined, deleted: true });
  }

  /** Hidden for this account only (every device: the server keeps it). */
  async deleteForMe(id) {
    await this.api.delete(`/messages/${encodeURIComponent(id)}?for=me`);
    const m = this._findMessageAnywhere(id);
    if (!m) return;
    const conv = this.conversations.get(m.chatId);
    if (conv?.byId.has(id)) {
      conv.byId.delete(id);
      conv.messages = conv.messages.filter(x => x.id !== id);
    }
    const chat = this.chats.get(m.chatId);
    if (chat?.lastMessage && messageId(chat.lastMessage) === id) {
      const newest = conv?.messages[conv.messages.length - 1] ?? null;
      chat.lastMessage = newest;
    }
    this._emit('messages', m.chatId);
    this._emit('chats', m.chatId);
    // The server's summary leaves the hidden message out of the last message and the unread
    // count too (an unread message hidden unread no longer counts); take its numbers.
    this.refreshChat(m.chatId).catch(() => {});
  }

  /** Each other member's progress on one of our messages: [{userId, status, timestamp}]. */
  receipts(id) {
    return this.api.get(`/messages/${encodeURIComponent(id)}/receipts`);
  }

  _findMessageAnywhere(id) {
    for (const [chatId, conv] of this.conversations) {
      const m = conv.byId.get(id);
      if (m) return { ...m, chatId: m.chatId ?? chatId };
    }
    for (const chat of this.chats.values()) {
      if (chat.lastMessage && messageId(chat.lastMessage) === id) return chat.lastMessage;
    }
    return null;
  }

  /** Loads older pages until the message is in the conversation (or the history ends). */
  async ensureLoaded(chatId, id, maxPages = 50) {
    const conv = this.conversation(chatId);
    if (!conv.loaded) await this.loadLatest(chatId);
    for (let page = 0; page < maxPages && !conv.byId.has(id) && conv.hasOlder; page++) {
      await this.loadOlder(chatId);
    }
    return conv.byId.has(id);
  }

  // ---- search -----------------------------------------------------------------------------------------

  /** Messages containing the words, newest first: {messages, lastKey}. */
  searchMessages(query, { chatId = null, lastKey = null, limit = 20 } = {}) {
    const params = new URLSearchParams({ q: query, limit: String(limit) });
    if (chatId) params.set('chatId', chatId);
    if (lastKey) params.set('lastKey', lastKey);
    return this.api.get(`/search?${params}`);
  }

  // ---- reading --------------------------------------------------------------------------------------

  /** The view tells whether the newest message is on screen: only then is the open chat read. */
  setReadingBottom(atBottom) {
    if (this.readingBottom === atBottom) return;
    this.readingBottom = atBottom;
    if (atBottom && this.activeChatId) this._scheduleMarks(this.activeChatId, 0);
  }

  _transmit(entry) {
    if (entry.failed) return;
    const frame = { action: 'sendMessage', chatId: entry.chatId, content: entry.content, clientMessageId: entry.clientMessageId };
    if (entry.replyTo) frame.replyTo = entry.replyTo;
    if (entry.media) {
      frame.type = entry.type;
      frame.media = entry.media.fileName ? { mediaId: entry.media.mediaId, fileName: entry.media.fileName } : { mediaId: entry.media.mediaId };
      if (!frame.content) delete frame.content;
    }
    const sent = this.realtime.send(frame);
    if (sent) entry.sentAt = Date.now();
  }

  /** After (re)connecting: every unacknowledged message again, same clientMessageId, so the server keeps one copy. */
  _flushOutbox() {
    for (const entry of this.outbox) this._transmit(entry);
  }

  _resendStale() {
    if (!this.realtime.isOpen) return;
    const now = Date.now();
    for (const entry of this.outbox) {
      if (!entry.failed && now - (entry.sentAt ?? 0) >= RESEND_AFTER_MS) this._transmit(entry);
    }
  }

  // ---- typing ----------------------------------------------------------------------------------------

  /** Called on every keystroke in the composer. */
  typingActivity(chatId, hasText) {
    if (!hasText) {
      this.stopTyping();
      return;
    }
    const t = this._typingOut;
    const now = Date.now();
    if (t.chatId !== chatId || now - t.sentAt > TYPING_RESEND_MS) {
      if (t.chatId && t.chatId !== chatId) this.stopTyping();
      if (this.realtime.send({ action: 'typing', chatId, isTyping: true })) {
        t.chatId = chatId;
        t.sentAt = now;
      }
    }
    clearTimeout(t.idleTimer);
    t.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    const t = this._typingOut;
    clearTimeout(t.idleTimer);
    if (!t.chatId) return;
    this.realtime.send({ action: 'typing', chatId: t.chatId, isTyping: false });
    t.chatId = null;
    t.sentAt = 0;
  }

  // ---- delivered and read ----------------------------------------------------------------------------

  _scheduleMarks(chatId, delay = 100) {
    if (this._markTimers.has(chatId)) return;
    this._markTimers.set(chatId, setTimeout(() => {
      this._markTimers.delete(chatId);
      this._markNow(chatId).catch(() => {});
    }, delay));
  }

  /** Newest message from someone else that we know of in a chat. */
  _newestFromOthers(chatId) {
    const conv = this.conversations.get(chatId);
    let best = null;
    if (conv) {
      for (let i = conv.messages.length - 1; i >= 0; i--) {
        if (conv.messages[i].senderId !== this.me.id) { best = conv.messages[i]; break; }
      }
    }
    const last = this.chats.get(chatId)?.lastMessage;
    if (last && last.senderId !== this.me.id && (last.seq ?? 0) > (best?.seq ?? 0)) best = last;
    return best;
  }

  async _markNow(chatId) {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    const newest = this._newestFromOthers(chatId);
    const opening = this._readOnOpen === chatId && this.activeChatId === chatId && document.visibilityState === 'visible';
    const visible = (this.isVisible(chatId) || opening) && this.conversations.get(chatId)?.loaded;
    if (visible && opening) this._readOnOpen = null;
    if (visible) {
      const unread = chat.unreadCount ?? 0;
      if (!newest && unread === 0) return;
      const seq = newest?.seq ?? 0;
      if (seq <= (this._readSent.get(chatId) ?? 0) && unread === 0) return;
      this._readSent.set(chatId, seq);
      this._deliveredSent.set(chatId, Math.max(seq, this._deliveredSent.get(chatId) ?? 0));
      chat.unreadCount = 0;
      this._emit('chats', chatId);
      const id = messageId(newest);
      const frame = id ? { action: 'markRead', chatId, messageId: id } : { action: 'markRead', chatId };
      if (!this.realtime.send(frame)) {
        try {
          await this.api.post(`/chats/${encodeURIComponent(chatId)}/read`, id ? { messageId: id } : {});
        } catch {
          this._readSent.delete(chatId); // try again when connected
        }
      }
      return;
    }
    if (!newest?.seq || newest.seq <= (this._deliveredSent.get(chatId) ?? 0)) return;
    const id = messageId(newest);
    this._deliveredSent.set(chatId, newest.seq);
    if (!this.realtime.send({ action: 'updateStatus', messageId: id, status: 'delivered' })) {
      try {
        await this.api.put(`/messages/${encodeURIComponent(id)}/status`, { status: 'delivered' });
      } catch {
        this._deliveredSent.delete(chatId);
      }
    }
  }

  // ---- people and groups -----------------------------------------------------------------------------

  async searchUsers(query, limit = 20) {
    const users = await this.api.get(`/users?search=${encodeURIComponent(query ?? '')}&limit=${limit}`);
    for (const u of users ?? []) {
      const known = this.users.get(u.userId) ?? {};
      this.users.set(u.userId, {
        ...known, id: u.userId, name: u.name, email: u.email, avatar: u.avatar, online: u.online, lastSeen: u.lastSeen,
        photoUrl: u.photoUrl ?? known.photoUrl, about: u.about ?? known.about,
      });
      if (u.blocked === true) this.blocked.add(u.userId);
      else if (u.blocked === false) this.blocked.delete(u.userId);
    }
    return (users ?? []).map(u => ({ ...u, id: u.userId }));
  }

  /** Presence in a 1:1 header needs lastSeen, which chat summaries do not carry: ask the user search once. */
  async ensureLastSeen(userId) {
    if (!userId || this._lastSeenAsked.has(userId)) return;
    const user = this.users.get(userId);
    if (!user || user.lastSeen !== undefined) return;
    this._lastSeenAsked.add(userId);
    try {
      const found = await this.api.get(`/users?search=${encodeURIComponent(user.email || user.name || '')}&limit=20`);
      const match = (found ?? []).find(u => u.userId === userId);
      if (match) {
        this.users.set(userId, { ...this.users.get(userId), online: match.online, lastSeen: match.lastSeen });
        this._emit('presence', userId);
      }
    } catch {
      this._lastSeenAsked.delete(userId);
    }
  }

  /** Whether the caller muted the chat (its settings ride on the chat summary). */
  isMuted(chatId) {
    const settings = this.chats.get(chatId)?.settings;
    return !!settings?.muted && (!settings.mutedUntil || settings.mutedUntil > Date.now());
  }

  /** Whether notifications may show the chat's message text. */
  showsPreviews(chatId) {
    return this.chats.get(chatId)?.settings?.previews !== false;
  }

  /** Fresh profile, presence and block state of one user (the directory is searched by their email or name). */
  async refreshUser(userId) {
    const user = this.users.get(userId);
    if (!user) return;
    const found = await this.searchUsers(user.email || user.name || '', 20);
    if (found.some(u => u.id === userId)) {
      this._emit('profile', userId);
      this._emit('blocked', userId);
    }
  }

  async setBlocked(userId, blocked) {
    const path = `/users/${encodeURIComponent(userId)}/block`;
    if (blocked) await this.api.post(path, {});
    else await this.api.delete(path);
    if (blocked) this.blocked.add(userId);
    else this.blocked.delete(userId);
    this._emit('blocked', userId);
  }

  async updateProfile(changes) {
    const profile = await this.api.patch('/users/me', changes);
    if (profile) this._absorbProfile(profile);
  }

  async uploadPhoto(file) {
    const profile = await this.api.upload('PUT', '/users/me/photo', file);
    if (profile) this._absorbProfile(profile);
  }

  async startDirectChat(userId) {
    const summary = await this.api.post('/chats', { participantId: userId });
    this._upsertChat(summary, { replace: true, fresh: true });
    this._emit('chats', summary.id);
    return summary.id;
  }

  async createGroup(name, description, memberIds) {
    const body = { name, memberIds };
    if (description) body.description = description;
    const summary = await this.api.post('/groups', body);
    this._upsertChat(summary, { replace: true, fresh: true });
    this._emit('chats', summary.id);
    return summary.id;
  }

  /** The caller's settings of a chat as the chat summary carries them (defaults before the first answer). */
  chatSettings(chatId) {
    return this.chats.get(chatId)?.settings ?? { muted: false, previews: true, pinned: false, archived: false, disappearAfterSeconds: 0 };
  }

  /** Changes chat settings (mute, previews, pin, archive, or the chat's disappearing timer). */
  async updateChatSettings(chatId, change) {
    const settings = await this.api.put(`/chats/${encodeURIComponent(chatId)}/settings`, change);
    const chat = this.chats.get(chatId);
    if (chat && settings) chat.settings = settings;
    this._emit('chats', chatId);
    return settings;
  }

  async renameGroup(groupId, name, description) {
    const body = { name };
    if (description !== undefined) body.description = description;
    await this.api.put(`/groups/${encodeURIComponent(groupId)}/info`, body);
    await this.refreshChat(groupId);
  }

  async addMembers(groupId, memberIds) {
    await this.api.post(`/groups/${encodeURIComponent(groupId)}/members`, { memberIds });
    await this.refreshChat(groupId);
  }

  async removeMember(groupId, memberId) {
    await this.api.delete(`/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(memberId)}`);
    if (memberId === this.me.id) this._removeChat(groupId, false);
    else await this.refreshChat(groupId);
  }

  async setAdmin(groupId, memberId, admin) {
    const path = `/groups/${encodeURIComponent(groupId)}/admins/${encodeURIComponent(memberId)}`;
    if (admin) await this.api.post(path, {});
    else await this.api.delete(path);
    await this.refreshChat(groupId);
  }
}
