// Message search in the sidebar: under the chats whose names match, the messages that contain the
// words (GET /search), newest first, with more on request.
import { previewText, senderName } from './messages.js';
import { el, debounce, formatListTime } from './util.js';

const MIN_LENGTH = 2;

export class MessageSearch {
  /** onPick(chatId, messageId): a result was chosen. */
  constructor(store, { onPick }) {
    this.store = store;
    this.onPick = onPick;
    this.text = '';
    this.results = [];
    this.lastKey = null;
    this.generation = 0;
    this.list = el('ul', { class: 'search-results', 'aria-label': 'Messages found' });
    this.status = el('p', { class: 'search-status muted small', role: 'status' });
    this.more = el('button', { type: 'button', class: 'link-button search-more', hidden: true, onclick: () => this.load(true) }, 'More results');
    this.heading = el('h3', { class: 'search-heading' }, 'Messages');
    this.node = el('section', { class: 'message-search', hidden: true, 'aria-label': 'Messages found' }, this.heading, this.status, this.list, this.more);
    this.run = debounce(() => this.load(false), 300);
  }

  destroy() {
    this.run.cancel();
    this.generation++;
  }

  /** The search box changed. */
  query(text) {
    this.text = text.trim();
    this.generation++;
    if (this.text.length < MIN_LENGTH || !/[\p{L}\p{N}]/u.test(this.text)) {
      this.run.cancel();
      this.node.hidden = true;
      this.results = [];
      this.list.replaceChildren();
      return;
    }
    this.node.hidden = false;
    this.status.textContent = 'Searching messages…';
    this.run();
  }

  async load(more) {
    const mine = ++this.generation;
    const text = this.text;
    try {
      const page = await this.store.searchMessages(text, { lastKey: more ? this.lastKey : null });
      if (mine !== this.generation) return;
      this.results = more ? [...this.results, ...(page?.messages ?? [])] : page?.messages ?? [];
      this.lastKey = page?.lastKey ?? null;
      this.render();
    } catch (error) {
      if (mine === this.generation) this.status.textContent = error.message;
    }
  }

  /** Chat and sender names changed: redraw what is shown. */
  refreshNames() {
    if (!this.node.hidden) this.render();
  }

  render() {
    const store = this.store;
    const words = this.text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    this.status.textContent = this.results.length ? '' : `No messages contain “${this.text}”.`;
    this.list.replaceChildren(...this.results.filter(m => store.chats.has(m.chatId)).map(m => {
      const chat = store.chats.get(m.chatId);
      const who = m.senderId === store.me.id ? 'You' : senderName(store, m);
      return el('li', {},
        el('button', { type: 'button', class: 'search-result', dataset: { messageId: m.id, chatId: m.chatId }, onclick: () => this.onPick(m.chatId, m.id) },
          el('span', { class: 'chat-top' },
            el('span', { class: 'chat-name' }, store.chatName(chat)),
            el('span', { class: 'chat-time' }, formatListTime(m.timestamp))),
          el('span', { class: 'preview' }, el('span', { class: 'preview-text' }, chat.isGroup || who === 'You' ? `${who}: ` : '', ...highlight(previewText(m, store), words)))));
    }));
    this.more.hidden = !this.lastKey;
  }
}

/** The text with each word that starts with a searched word marked (DOM nodes, never HTML). */
function highlight(text, words) {
  if (!words.length) return [text];
  const nodes = [];
  const pattern = /[\p{L}\p{N}]+/gu;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const lower = match[0].toLowerCase();
    const hit = words.find(w => lower.startsWith(w));
    if (!hit) continue;
    nodes.push(text.slice(last, match.index));
    nodes.push(el('mark', {}, match[0].slice(0, hit.length)));
    last = match.index + hit.length;
  }
  nodes.push(text.slice(last));
  return nodes.filter(n => n !== '');
}
