// Message text as WhatsApp shows it: links are clickable and *bold* _italic_ ~strike~ `code`
// are styled. Everything is built as DOM nodes from text: no message ever goes through innerHTML.
import { el } from './util.js';

// http(s) addresses and bare www. ones. Nothing else becomes a link (no javascript:, data:, mailto:...).
const LINK = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
// Punctuation that ends a sentence rather than the address.
const TRAILING = /[.,;:!?)\]}'"]+$/;

const MARKS = { '*': 'strong', _: 'em', '~': 's', '`': 'code' };

/** Nodes for a message's text: styled runs and safe links. */
export function formatText(text) {
  const nodes = [];
  let last = 0;
  for (const match of String(text ?? '').matchAll(LINK)) {
    let url = match[0];
    const trailing = TRAILING.exec(url)?.[0] ?? '';
    url = url.slice(0, url.length - trailing.length);
    if (!url) continue;
    nodes.push(...styled(text.slice(last, match.index)));
    nodes.push(link(url));
    last = match.index + url.length;
  }
  nodes.push(...styled(String(text ?? '').slice(last)));
  return nodes;
}

function link(url) {
  const href = /^https?:\/\//i.test(url) ? url : `https://${url}`;
  let safe = null;
  try {
    const parsed = new URL(href);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') safe = parsed.href;
  } catch {
    safe = null;
  }
  if (!safe) return document.createTextNode(url);
  return el('a', { href: safe, target: '_blank', rel: 'noopener noreferrer', class: 'link' }, url);
}

/**
 * *bold*, _italic_, ~strike~ and `code`, as WhatsApp reads them: the marker hugs the text (no space
 * just inside it), stands at a word boundary outside it, and stays on one line. Markers can nest
 * (`*_both_*`); inside `code` nothing else is styled.
 */
function styled(text) {
  const nodes = [];
  let plain = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const tag = MARKS[ch];
    if (tag && boundaryBefore(text, i)) {
      const end = closing(text, i, ch);
      if (end > 0) {
        if (plain) nodes.push(document.createTextNode(plain));
        plain = '';
        const inner = text.slice(i + 1, end);
        nodes.push(el(tag, { class: tag === 'code' ? 'inline-code' : null }, ...(tag === 'code' ? [inner] : styled(inner))));
        i = end + 1;
        continue;
      }
    }
    plain += ch;
    i++;
  }
  if (plain) nodes.push(document.createTextNode(plain));
  return nodes;
}

function boundaryBefore(text, i) {
  return i === 0 || /[\s([{"'*_~`]/.test(text[i - 1]);
}

/** Where the marker opened at start closes, or -1. */
function closing(text, start, ch) {
  if (start + 1 >= text.length || /\s/.test(text[start + 1])) return -1;
  for (let j = start + 2; j < text.length; j++) {
    if (text[j] === '\n') return -1;
    if (text[j] === ch && !/\s/.test(text[j - 1]) && (j + 1 === text.length || /[\s.,;:!?)\]}"'*_~`]/.test(text[j + 1]))) return j;
  }
  return -1;
}
