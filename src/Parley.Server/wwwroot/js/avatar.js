// Avatars: a photo when the profile has one, else the initials on a colour of their own.
import { el, hue, initials } from './util.js';

const photoCache = new Map(); // url → Promise<string | null> (an object URL)

function isPhoto(avatar) {
  return typeof avatar === 'string' && /^(https?:\/\/|\/|data:image\/|blob:)/i.test(avatar);
}

/** Photos under /media need the bearer token, so they are fetched and shown from an object URL. */
function loadPhoto(api, url) {
  if (!url.startsWith('/media/')) return Promise.resolve(url);
  let promise = photoCache.get(url);
  if (!promise) {
    promise = fetch(url, { headers: { Authorization: `Bearer ${api.accessToken}` } })
      .then(r => (r.ok ? r.blob() : null))
      .then(blob => (blob ? URL.createObjectURL(blob) : null))
      .catch(() => null);
    photoCache.set(url, promise);
  }
  return promise;
}

/** name: whose avatar; avatar: the profile's avatar field (initials or a photo address); seed: colour key. */
export function avatar(api, { name, avatar: value, seed, size = 'md', online = false, label = null }) {
  const text = !isPhoto(value) && typeof value === 'string' && value.trim() && value.trim().length <= 3 ? value.trim().toUpperCase() : initials(name);
  const node = el('span', {
    class: `avatar avatar-${size}`,
    style: `--avatar-hue: ${hue(seed ?? name)}`,
    role: label ? 'img' : null,
    'aria-label': label,
    'aria-hidden': label ? null : 'true',
  }, el('span', { class: 'avatar-initials' }, text));
  if (isPhoto(value)) {
    loadPhoto(api, value).then(src => {
      if (!src) return;
      // Only the initials give way: the presence dot stays.
      node.querySelector('.avatar-initials')?.replaceWith(el('img', { src, alt: '', loading: 'lazy' }));
      node.classList.add('avatar-photo');
    });
  }
  if (online) node.append(el('span', { class: 'presence-dot', title: 'online' }));
  return node;
}
