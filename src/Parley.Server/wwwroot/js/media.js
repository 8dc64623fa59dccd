// Photos, videos and files in messages: upload with progress, thumbnails, a viewer, download.
// /media needs the bearer token, so files are fetched and shown from object URLs.
import { ApiError, NetworkError } from './api.js';
import { el, icon, icons } from './util.js';

const blobCache = new Map(); // url → Promise<Blob | null>

/** The bytes of an uploaded file (cached for the page's life). */
export function loadMedia(api, url) {
  let promise = blobCache.get(url);
  if (!promise) {
    promise = (async () => {
      if (api._needsRefresh?.(0)) await api.refresh().catch(() => {});
      const response = await fetch(url, { headers: { Authorization: `Bearer ${api.accessToken}` } });
      return response.ok ? response.blob() : null;
    })().catch(() => null);
    promise.then(blob => { if (!blob) blobCache.delete(url); });
    blobCache.set(url, promise);
  }
  return promise;
}

/** What kind of message a file makes. */
export function kindOf(file) {
  const type = file?.type ?? '';
  if (type.startsWith('image/') && type !== 'image/svg+xml') return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  return 'file';
}

export function formatSize(bytes) {
  if (!Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * POST /media with progress (fetch cannot report upload progress; XMLHttpRequest can).
 * onProgress(fraction). Resolves to {mediaId, contentType, size, url}. abort() on the returned
 * promise cancels the upload.
 */
export function uploadMedia(api, file, onProgress) {
  let xhr = null;
  const send = () => new Promise((resolve, reject) => {
    xhr = new XMLHttpRequest();
    xhr.open('POST', '/media');
    xhr.setRequestHeader('Authorization', `Bearer ${api.accessToken}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = event => { if (event.lengthComputable) onProgress?.(event.loaded / event.total); };
    xhr.onload = () => {
      let json = null;
      try { json = JSON.parse(xhr.responseText); } catch { json = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(json);
      else reject(new ApiError(xhr.status, json?.error || (xhr.status === 413 ? 'That file is too large.' : 'The upload failed.'), json));
    };
    xhr.onerror = () => reject(new NetworkError(new Error('upload failed')));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    xhr.send(file);
  });
  const run = (async () => {
    if (api._needsRefresh?.(0)) await api.refresh();
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await api.refresh(true);
      return send();
    }
  })();
  run.abort = () => xhr?.abort();
  return run;
}

/** The picture, video or file card inside a bubble. onOpen(media) shows the viewer. */
export function mediaView(api, message, { onOpen, onLoad } = {}) {
  const media = message.media ?? {};
  const url = media.url || (media.mediaId ? `/media/${encodeURIComponent(media.mediaId)}` : null);
  const name = media.fileName || { image: 'Photo', video: 'Video', audio: 'Voice message' }[message.type] || 'File';
  if (!url) return null;
  if (message.type === 'image' || message.type === 'video') {
    const isVideo = message.type === 'video';
    const frame = el('button', {
      type: 'button', class: `media-thumb ${isVideo ? 'video' : 'image'} loading`, 'aria-label': isVideo ? `Play video ${name}` : `Open photo ${name}`,
      onclick: () => onOpen?.({ ...media, url, type: message.type, name }),
    });
    if (isVideo) frame.append(el('span', { class: 'play-badge', 'aria-hidden': 'true' }, '▶'));
    loadMedia(api, url).then(blob => {
      frame.classList.remove('loading');
      if (!blob) {
        frame.classList.add('missing');
        frame.append(el('span', { class: 'media-missing' }, 'Not available'));
        return;
      }
      const src = URL.createObjectURL(blob);
      const visual = isVideo
        ? el('video', { src, muted: true, preload: 'metadata', playsinline: true, 'aria-hidden': 'true' })
        : el('img', { src, alt: name });
      visual.addEventListener(isVideo ? 'loadeddata' : 'load', () => onLoad?.(), { once: true });
      frame.prepend(visual);
    });
    return frame;
  }
  if (message.type === 'audio') {
    const player = el('audio', { controls: true, preload: 'none', class: 'media-audio', 'aria-label': name });
    loadMedia(api, url).then(blob => { if (blob) player.src = URL.createObjectURL(blob); });
    return player;
  }
  return el('div', { class: 'file-card' },
    el('span', { class: 'file-icon', 'aria-hidden': 'true' }, icon(icons.file)),
    el('span', { class: 'file-text' },
      el('span', { class: 'file-name' }, name),
      el('span', { class: 'file-size' }, formatSize(media.size))),
    el('button', { type: 'button', class: 'icon-button small', 'aria-label': `Download ${name}`, title: 'Download', onclick: () => download(api, url, name) }, icon(icons.download)));
}

/** Saves a file under its name. */
export async function download(api, url, name) {
  const blob = await loadMedia(api, url);
  if (!blob) return false;
  const href = URL.createObjectURL(blob);
  const a = el('a', { href, download: name || 'file', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
  return true;
}

/** A full-window viewer for a photo or video; Escape or the close button closes it. */
export function openViewer(api, media) {
  const opener = document.activeElement;
  const stage = el('div', { class: 'viewer-stage' }, el('span', { class: 'spinner', 'aria-hidden': 'true' }));
  const close = el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close viewer', title: 'Close' }, icon(icons.close));
  const save = el('button', { type: 'button', class: 'icon-button', 'aria-label': `Download ${media.name}`, title: 'Download', onclick: () => download(api, media.url, media.name) }, icon(icons.download));
  const dialog = el('dialog', { class: 'viewer', 'aria-label': media.type === 'video' ? 'Video' : 'Photo' },
    el('header', { class: 'viewer-bar' }, el('span', { class: 'viewer-name' }, media.name), save, close),
    stage);
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', event => { if (event.target === dialog || event.target === stage) dialog.close(); });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  loadMedia(api, media.url).then(blob => {
    if (!blob) {
      stage.replaceChildren(el('p', {}, 'This file is not available.'));
      return;
    }
    const src = URL.createObjectURL(blob);
    stage.replaceChildren(media.type === 'video'
      ? el('video', { src, controls: true, autoplay: true, class: 'viewer-media' })
      : el('img', { src, alt: media.name, class: 'viewer-media' }));
  });
  return dialog;
}
