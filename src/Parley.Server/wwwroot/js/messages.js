// How one message, a system line or a day separator looks in a conversation.
import { el, icon, icons, formatTime, formatDay, dayKey, hue } from './util.js';

export function systemText(m, store) {
  const actor = m.senderId === store.me.id ? 'You' : m.senderName || 'Someone';
  const affected = m.affectedUserName || 'someone';
  // The server's content is a whole sentence; the group's name comes apart, in groupName.
  const name = m.groupName;
  switch (m.systemAction) {
    case 'group_created': return name ? `${actor} created the group “${name}”` : `${actor} created the group`;
    case 'member_added': return `${actor} added ${affected}`;
    case 'member_removed': return `${actor} removed ${affected}`;
    case 'member_left': return `${m.affectedUserName || actor} left`;
    case 'group_renamed': return name ? `${actor} changed the group name to “${name}”` : `${actor} changed the group name`;
    case 'disappearing_messages': {
      // The server's sentence starts with the actor's name; our own change reads "You …".
      const text = m.content || 'Disappearing messages changed';
      return actor === 'You' && m.senderName && text.startsWith(m.senderName) ? `You${text.slice(m.senderName.length)}` : text;
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

/** The rows of a conversation in order: day separators, system lines and bubbles, each with a key and a signature. */
export function conversationRows(store, chat, confirmed, pending) {
  const rows = [];
  let lastDay = null;
  let lastSender = null;
  const all = [
    ...confirmed,
    ...pending.map(p => ({ pending: true, failed: !!p.failed, error: p.error, clientMessageId: p.clientMessageId, content: p.content, timestamp: p.createdAt, senderId: store.me.id, type: 'text' })),
  ];
  for (const m of all) {
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
    const sig = JSON.stringify([m.content, m.quote?.content, m.quote?.deleted, m.deleted, m.editedAt, showSender, firstOfRun, m.senderName, pendingState, m.error]);
    rows.push({ key, sig, status, build: () => bubble(store, m, { own, showSender, status, firstOfRun }) });
  }
  return rows;
}

function daySeparator(ms) {
  return el('div', { class: 'day-separator', role: 'separator', 'aria-label': formatDay(ms) }, el('span', {}, formatDay(ms)));
}

function bubble(store, m, { own, showSender, status, firstOfRun }) {
  const text = m.deleted
    ? el('span', { class: 'text deleted' }, own ? 'You deleted this message' : 'This message was deleted')
    : el('span', { class: 'text' }, previewText(m, store));
  const meta = el('span', { class: 'meta' },
    m.editedAt && !m.deleted ? el('span', { class: 'edited' }, 'edited') : null,
    el('time', { class: 'time', datetime: new Date(m.timestamp ?? Date.now()).toISOString() }, formatTime(m.timestamp ?? Date.now())),
    own ? ticks(status) : null);
  const children = [
    showSender ? el('span', { class: 'sender', style: `--sender-hue: ${hue(m.senderId)}` }, m.senderName || 'Someone') : null,
    m.quote?.deleted ? el('span', { class: 'quote deleted' }, 'This message was deleted')
      : m.quote?.content ? el('span', { class: 'quote' }, m.quote.content) : null,
    text,
    meta,
  ];
  const row = el('div', {
    class: `msg-row ${own ? 'own' : 'other'}${firstOfRun ? ' first' : ''}${m.pending ? ' pending' : ''}${m.failed ? ' failed' : ''}`,
    dataset: m.id ? { messageId: m.id } : { clientMessageId: m.clientMessageId },
  }, el('div', { class: 'bubble' }, ...children));
  if (m.failed) {
    row.append(el('div', { class: 'failed-actions' },
      el('span', { class: 'failed-reason' }, m.error || 'Not sent.'),
      el('button', { type: 'button', class: 'link-button', onclick: () => store.retry(m.clientMessageId) }, 'Retry'),
      el('button', { type: 'button', class: 'link-button', onclick: () => store.discard(m.clientMessageId) }, 'Delete')));
  }
  return row;
}
