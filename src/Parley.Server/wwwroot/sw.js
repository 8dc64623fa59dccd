// Parley's service worker: shows Web Push notifications and opens the chat when one is clicked.
// The payload is what the server encrypted for this browser: {type, chatId, messageId, title, body, senderName}.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', event => event.waitUntil(self.clients.claim()));

self.addEventListener('push', event => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  if (data.type !== 'message' || !data.chatId) return;
  event.waitUntil((async () => {
    // An open, visible Parley tab shows the message itself.
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (windows.some(w => w.visibilityState === 'visible' && w.focused)) return;
    await self.registration.showNotification(String(data.title || 'Parley'), {
      body: String(data.body || 'New message'),
      tag: `chat:${data.chatId}`, // one notification per chat, the newest
      renotify: true,
      icon: '/favicon.svg',
      data: { chatId: data.chatId, messageId: data.messageId },
    });
  })());
});

self.addEventListener('notificationclick', event => {
  event.notification.close();
  const chatId = event.notification.data?.chatId;
  const target = new URL(chatId ? `/#/chat/${encodeURIComponent(chatId)}` : '/', self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find(w => new URL(w.url).origin === self.location.origin);
    if (open) {
      await open.focus();
      if ('navigate' in open) await open.navigate(target);
      return;
    }
    await self.clients.openWindow(target);
  })());
});
