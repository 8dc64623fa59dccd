// How one message, a system line or a day separator looks in a conversation.
import { formatText } from './format.js';
import { formatSize, mediaView } from './media.js';
import { el, icon, icons, formatTime, formatDay, dayKey, hue } from './util.js';

/** A sender's name as it is now (a profile change shows at once), else as the message recorded it. */
export function senderName(store, m) {
  return store.users.get(m.senderId)?.name || m.senderName || 'Someone';
}

export function systemText(m, store) {
  const actor = m.senderId === store.me.id ? 'You' : senderName(store, m);
  // The member a message names, as it is now when we know them (a profile change, or a deleted
  // account's "Deleted account", shows at once), else as the message recorded it.
  const affectedName = (m.affectedUserId && store.users.get(m.affectedUserId)?.name) || m.affectedUserName;
  const affected = affectedName || 'someone';
  // The server's content is a whole sentence; the group's name comes apart, in groupName.
  const name = m.groupName;
  switch (m.systemAction) {
    case 'group_created': return name ? `${actor} created the group “${name}”` : `${actor} created the group`;
    case 'member_added': return `${actor} added ${affected}`;
    case 'member_removed': return `${actor} removed ${affected}`;
    case 'member_left': return `${affectedName || actor} left`;
    case 'group_renamed': return name ? `${actor} changed the group name to “${name}”` : `${actor} changed the group name`;
    case 'disappearing_messages': {
      // The server's sentence starts with the sender's name as the message carries it; shown with
      // the name as it is now (our own change reads "You …").
      const text = m.content || 'Disappearing messages changed';
      return m.senderName && text.startsWith(m.senderName) ? `${actor}${text.slice(m.senderName.length)}` : text;
    }
    default: return m.content || 'Group updated';
  }
}

/** What a message says in one line (chat list preview). */
export function previewText(m, store) {
  if (!m) return '';
  if (m.type === 'system') return systemText(m, store);
  if (m.deleted) return 'This message was deleted';
  const media = { image: '📷 Photo', audio: '🎤 Voice message', video: '🎬 Video', file: '📎 File' }[m.type];
  if (media) return m.content ? `${media.split(' ')[0]} ${m.content}` : media;
  return m.content ?? '';
}

const STATUS_LABEL = { pending: 'Sending', failed: 'Not sent', sent: 'Sent', delivered: 'Delivered', read: 'Read' };
const TICK = 'M4.5 12.5l4.5 4.5L19.5 6.5';
const DOUBLE_TICK = ['M1.5 12.5l4.5 4.5L16.5 6.5', 'M11.8 16.3l.7.7L23 6.5'];

function tickIcon(status) {
  const stroke = status !== 'pending' && status !== 'failed';
  const paths = status === 'pending' ? icons.clock : status === 'failed' ? icons.alert : status === 'sent' ? TICK : DOUBLE_TICK;
  return icon(paths, stroke ? 'tick-icon stroke' : 'tick-icon');
}

/** The status mark of one of our messages: a clock, ✓, ✓✓, or a blue ✓✓. */
export function ticks(status) {
  if (!status) return null;
  return el('span', { class: `ticks ticks-${status}`, 'data-status': status, role: 'img', 'aria-label': STATUS_LABEL[status], title: STATUS_LABEL[status] },
    tickIcon(status));
}

/** Moves the ticks of a rendered message to a new status in place (attributes only, so a live
 * region does not read the whole message again). */
export function updateTicks(row, status) {
  const node = row.querySelector('.ticks');
  if (!node || !status) return;
  node.className = `ticks ticks-${status}`;
  node.dataset.status = status;
  node.setAttribute('aria-label', STATUS_LABEL[status]);
  node.title = STATUS_LABEL[status];
  node.replaceChildren(tickIcon(status));
}

/** The rows of a conversation in order: day separators, the unread divider, system lines and
 * bubbles (then files still uploading), each with a key and a signature. */
export function conversationRows(store, chat, confirmed, pending, uploads = [], handlers = {}) {
  const rows = [];
  let lastDay = null;
  let lastSender = null;
  const divider = store.unreadDivider?.chatId === chat.id && store.unreadDivider.seq ? store.unreadDivider : null;
  const all = [
    ...confirmed,
    ...pending.map(p => ({
      pending: true, failed: !!p.failed, error: p.error, clientMessageId: p.clientMessageId, content: p.content, timestamp: p.createdAt,
      senderId: store.me.id, type: p.type ?? 'text', media: p.media, replyTo: p.replyTo, quote: p.quote,
    })),
  ];
  for (const m of all) {
    if (divider && !m.pending && m.seq === divider.seq) {
      const text = `${divider.count} unread ${divider.count === 1 ? 'message' : 'messages'}`;
      rows.push({ key: 'unread-divider', sig: text, build: () => el('div', { class: 'unread-divider', role: 'separator', 'aria-label': text }, el('span', {}, text)) });
    }
    const day = dayKey(m.timestamp ?? Date.now());
    if (day !== lastDay) {
      rows.push({ key: `d:${day}`, sig: formatDay(m.timestamp ?? Date.now()), build: () => daySeparator(m.timestamp ?? Date.now()) });
      lastDay = day;
      lastSender = null;
    }
    if (m.type === 'system') {
      const text = systemText(m, store);
      rows.push({ key: `m:${m.id}`, sig: text, build: () => el('div', { class: 'system-row', dataset: { messageId: m.id } }, el('span', { class: 'system', role: 'note' }, text)) });
      lastSender = null;
      continue;
    }
    const own = m.pending || m.senderId === store.me.id;
    const firstOfRun = m.senderId !== lastSender;
    const showSender = chat.isGroup && !own && firstOfRun;
    lastSender = m.senderId;
    const status = own ? store.statusOf(chat, m) : null;
    const key = m.clientMessageId ? `c:${m.senderId}:${m.clientMessageId}` : `m:${m.id}`;
    // The status is not in the signature: a tick that advances is updated in place.
    const pendingState = m.pending ? (m.failed ? 'failed' : 'pending') : 'stored';
    const sig = JSON.stringify([m.content, m.quote?.content, m.quote?.deleted, m.quote && quoteAuthor(store, m), m.deleted, m.editedAt, showSender, firstOfRun,
      showSender && senderName(store, m), pendingState, m.error, m.media?.mediaId]);
    rows.push({ key, sig, status, build: () => bubble(store, m, { own, showSender, status, firstOfRun }, handlers) });
  }
  for (const u of uploads) {
    const day = dayKey(u.createdAt);
    if (day !== lastDay) {
      rows.push({ key: `d:${day}`, sig: formatDay(u.createdAt), build: () => daySeparator(u.createdAt) });
      lastDay = day;
    }
    rows.push({ key: `c:${store.me.id}:${u.clientMessageId}`, sig: JSON.stringify(['upload', u.error]), upload: u, build: () => uploadBubble(store, u) });
  }
  return rows;
}

/** A file on its way up: its preview, a progress bar, and cancel (or retry after a failure). */
function uploadBubble(store, u) {
  const bar = el('progress', { class: 'upload-progress', max: '1', value: String(u.progress), 'aria-label': `Uploading ${u.name}` });
  const preview = u.previewUrl
    ? (u.kind === 'video' ? el('video', { src: u.previewUrl, muted: true, class: 'upload-preview', 'aria-hidden': 'true' }) : el('img', { src: u.previewUrl, alt: '', class: 'upload-preview' }))
    : el('div', { class: 'file-card' }, el('span', { class: 'file-icon', 'aria-hidden': 'true' }, icon(icons.file)),
      el('span', { class: 'file-text' }, el('span', { class: 'file-name' }, u.name), el('span', { class: 'file-size' }, formatSize(u.size))));
  const actions = u.error
    ? el('div', { class: 'failed-actions' }, el('span', { class: 'failed-reason' }, u.error),
      el('button', { type: 'button', class: 'link-button', onclick: () => store.retryUpload(u.clientMessageId) }, 'Retry'),
      el('button', { type: 'button', class: 'link-button', onclick: () => store.cancelUpload(u.clientMessageId) }, 'Delete'))
    : el('button', { type: 'button', class: 'link-button small', onclick: () => store.cancelUpload(u.clientMessageId) }, 'Cancel');
  return el('div', { class: `msg-row own first pending upload${u.error ? ' failed' : ''}`, dataset: { clientMessageId: u.clientMessageId } },
    el('div', { class: 'bubble media-bubble' }, preview, u.caption ? el('span', { class: 'text' }, u.caption) : null, u.error ? null : bar),
    actions);
}

/** Moves an upload's progress bar in place. */
export function updateUploadProgress(row, upload) {
  const bar = row.querySelector('.upload-progress');
  if (bar) bar.value = upload.progress;
}

function quoteAuthor(store, m) {
  const id = m.quote?.senderId ?? store._findMessageAnywhere?.(m.replyTo)?.senderId;
  return id ? (id === store.me.id ? 'You' : store.users.get(id)?.name ?? null) : null;
}

function daySeparator(ms) {
  return el('div', { class: 'day-separator', role: 'separator', 'aria-label': formatDay(ms) }, el('span', {}, formatDay(ms)));
}

function bubble(store, m, { own, showSender, status, firstOfRun }, handlers) {
  const isMedia = !m.deleted && m.media && m.type !== 'text';
  const mediaNode = isMedia ? mediaView(store.api, m, { onOpen: handlers.openMedia, onLoad: handlers.mediaLoaded }) : null;
  const caption = isMedia ? m.content : m.content ?? '';
  const text = m.deleted
    ? el('span', { class: 'text deleted' }, own ? 'You deleted this message' : 'This message was deleted')
    : caption ? el('span', { class: 'text' }, ...formatText(caption)) : null;
  const author = m.quote ? quoteAuthor(store, m) : null;
  // A quote of a message deleted for everyone (or gone) says so; its text is not kept anywhere.
  const quoteGone = !!m.quote?.deleted || !m.quote?.content;
  const quote = m.quote && !m.deleted
    ? el('button', {
      type: 'button', class: `quote${quoteGone ? ' deleted' : ''}`, 'aria-label': 'Go to the quoted message',
      onclick: () => handlers.goToMessage?.(m.chatId, m.replyTo),
    }, author ? el('span', { class: 'quote-author' }, author) : null, el('span', { class: 'quote-text' }, quoteGone ? 'This message was deleted' : m.quote.content))
    : null;
  const meta = el('span', { class: 'meta' },
    m.editedAt && !m.deleted ? el('span', { class: 'edited' }, 'edited') : null,
    el('time', { class: 'time', datetime: new Date(m.timestamp ?? Date.now()).toISOString() }, formatTime(m.timestamp ?? Date.now())),
    own ? ticks(status) : null);
  const children = [
    showSender ? el('span', { class: 'sender', style: `--sender-hue: ${hue(m.senderId)}` }, senderName(store, m)) : null,
    quote,
    mediaNode,
    text,
    meta,
  ];
  const menuButton = m.id && !m.pending
    ? el('button', { type: 'button', class: 'msg-menu-button', 'aria-label': 'Message options', 'aria-haspopup': 'menu', title: 'Message options', onclick: event => handlers.openMenu?.(m, event.currentTarget) }, icon(icons.chevron))
    : null;
  const row = el('div', {
    class: `msg-row ${own ? 'own' : 'other'}${firstOfRun ? ' first' : ''}${m.pending ? ' pending' : ''}${m.failed ? ' failed' : ''}`,
    dataset: m.id ? { messageId: m.id } : { clientMessageId: m.clientMessageId },
  }, el('div', { class: `bubble${isMedia ? ' media-bubble' : ''}` }, ...children, menuButton));
  if (m.id && !m.pending) row.addEventListener('contextmenu', event => {
    event.preventDefault();
    handlers.openMenu?.(m, menuButton);
  });
  if (m.failed) {
    row.append(el('div', { class: 'failed-actions' },
      el('span', { class: 'failed-reason' }, m.error || 'Not sent.'),
      el('button', { type: 'button', class: 'link-button', onclick: () => store.retry(m.clientMessageId) }, 'Retry'),
      el('button', { type: 'button', class: 'link-button', onclick: () => store.discard(m.clientMessageId) }, 'Delete')));
  }
  return row;
}
