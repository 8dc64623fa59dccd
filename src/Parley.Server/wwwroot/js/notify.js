// Notifications while the page is open: a system notification (Notification API) and a short
// sound for a message from someone else, unless its chat is muted or already in front of the user.
import { previewText, senderName } from './messages.js';

export function notificationsSupported() {
  return typeof Notification !== 'undefined';
}

/** 'granted', 'denied', 'default', or 'unsupported'. */
export function notificationPermission() {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

/** Asks the browser (needs a click). Resolves to the new permission. */
export async function askNotificationPermission() {
  if (!notificationsSupported()) return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

export class Notifier {
  /** onOpen(chatId): the user clicked a notification. */
  constructor(store, { onOpen }) {
    this.store = store;
    this.onOpen = onOpen;
    this.audio = null;
    this.onIncoming = event => this.incoming(event.detail);
    store.addEventListener('incoming', this.onIncoming);
  }

  destroy() {
    this.store.removeEventListener('incoming', this.onIncoming);
    this.audio?.close?.().catch?.(() => {});
  }

  incoming(m) {
    const store = this.store;
    const chat = store.chats.get(m.chatId);
    if (!chat || store.isMuted(m.chatId)) return;
    const looking = document.visibilityState === 'visible' && store.activeChatId === m.chatId;
    if (looking) return;
    this.sound();
    if (notificationPermission() !== 'granted') return;
    const title = chat.isGroup ? store.chatName(chat) : senderName(store, m);
    const showPreview = store.showsPreviews(m.chatId);
    const body = !showPreview ? 'New message' : chat.isGroup ? `${senderName(store, m)}: ${previewText(m, store)}` : previewText(m, store);
    try {
      const notification = new Notification(title, { body, tag: m.chatId, icon: '/favicon.svg' });
      notification.onclick = () => {
        window.focus();
        this.onOpen?.(m.chatId);
        notification.close();
      };
    } catch {
      // Some browsers only allow notifications from a service worker; the sound and badge remain.
    }
  }

  /** A short two-note chime, made on the spot (no sound file to fetch). */
  sound() {
    try {
      this.audio ??= new AudioContext();
      const ctx = this.audio;
      if (ctx.state === 'suspended') ctx.resume().catch(() => {});
      const now = ctx.currentTime;
      for (const [offset, frequency] of [[0, 880], [0.12, 1320]]) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, now + offset);
        gain.gain.exponentialRampToValueAtTime(0.15, now + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.25);
        osc.connect(gain).connect(ctx.destination);
        osc.start(now + offset);
        osc.stop(now + offset + 0.3);
      }
      this.played = (this.played ?? 0) + 1;
    } catch {
      // No audio output: nothing to play.
    }
  }
}
