// Web Push: subscribe this browser through the service worker, tell the server, and undo it on sign-out.

export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window && window.isSecureContext;
}

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(base64), c => c.charCodeAt(0));
}

async function registration() {
  await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  return navigator.serviceWorker.ready;
}

/** 'on', 'off' (can be turned on), 'blocked' (the user said no) or 'unsupported'. */
export async function pushState() {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'blocked';
  if (Notification.permission !== 'granted') return 'off';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const subscription = await reg?.pushManager.getSubscription();
  return subscription ? 'on' : 'off';
}

/** Asks for permission (call from a click), subscribes with the server's VAPID key and registers the subscription. */
export async function enablePush(api) {
  if (!pushSupported()) throw new Error('This browser cannot show notifications.');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('Notifications are blocked for this site.');
  return register(api, await registration());
}

/**
 * On each start while this browser has a subscription: tells the server again, since the server
 * drops one its push service reports gone, or one it can no longer decrypt for (its secrets key
 * was reset), and subscribes anew when the server's VAPID key changed. Without this the browser
 * would think push is on, hide the button that turns it on, and never be notified.
 */
export async function renewPush(api) {
  if (!pushSupported() || Notification.permission !== 'granted') return;
  const reg = await navigator.serviceWorker.getRegistration('/');
  if (!(await reg?.pushManager.getSubscription())) return;
  await register(api, reg);
}

async function register(api, reg) {
  const { publicKey } = await api.get('/push/vapid-public-key');
  let subscription = await reg.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, publicKey)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  try {
    subscription ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  } catch (error) {
    throw new Error(`The browser's push service is not available (${error.message}).`);
  }
  const json = subscription.toJSON();
  await api.post('/push/subscriptions', { endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
  return 'on';
}

function sameKey(subscription, publicKey) {
  const key = subscription.options?.applicationServerKey;
  if (!key) return true;
  const mine = keyBytes(publicKey);
  const theirs = new Uint8Array(key);
  return mine.length === theirs.length && mine.every((b, i) => b === theirs[i]);
}

/** Signing out: this browser stops getting this account's notifications. */
export async function disablePush(api) {
  if (!pushSupported()) return;
  const reg = await navigator.serviceWorker.getRegistration('/');
  const subscription = await reg?.pushManager.getSubscription();
  if (!subscription) return;
  try {
    await api.delete(`/push/subscriptions?endpoint=${encodeURIComponent(subscription.endpoint)}`);
  } catch {
    // Already gone on the server: nothing to undo there.
  }
  await subscription.unsubscribe();
}
