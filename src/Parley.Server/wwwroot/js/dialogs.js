// Modal dialogs: start a chat, create a group, group info.
import { avatar } from './avatar.js';
import { el, icon, icons, debounce, formatLastSeen, pressGuard } from './util.js';

let dialogCount = 0;

/** A modal <dialog> that removes itself when closed; Escape closes it, focus returns where it was. */
export function modal(title, { className = '' } = {}) {
  const id = `dialog-title-${++dialogCount}`;
  const opener = document.activeElement;
  const body = el('div', { class: 'dialog-body' });
  const closeButton = el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close' }, icon(icons.close));
  const heading = el('h2', { id }, title);
  const dialog = el('dialog', { class: `dialog ${className}`, 'aria-labelledby': id },
    el('header', { class: 'dialog-header' }, heading, closeButton), body);
  const cleanups = [];
  const close = () => { if (dialog.open) dialog.close(); };
  closeButton.addEventListener('click', close);
  dialog.addEventListener('click', event => { if (event.target === dialog) close(); }); // the backdrop
  dialog.addEventListener('close', () => {
    // The close event comes a task after close(): what the dialog led to (a chat it opened) may
    // have placed focus since, and keeps it. Only focus left in the dialog, or lost, goes back.
    const active = document.activeElement;
    const lost = !active || active === document.body || dialog.contains(active);
    for (const fn of cleanups) fn();
    dialog.remove();
    if (lost && opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, heading, close, onClose: fn => cleanups.push(fn) };
}

export function errorLine() {
  return el('p', { class: 'form-error', role: 'alert' });
}

function userRow(store, user, extra = []) {
  return [
    avatar(store.api, { name: user.name, avatar: user.photoUrl || user.avatar, seed: user.id, online: user.online }),
    el('span', { class: 'person-text' },
      el('span', { class: 'person-name' }, user.name),
      el('span', { class: 'person-sub' }, [user.email, user.online ? 'online' : null].filter(Boolean).join(' · ') || formatLastSeen(user.lastSeen))),
    ...extra,
  ];
}

/** A search box over /users with a live result list; render(user) makes each result's content. */
function userSearch(store, { label, placeholder, exclude = () => false, renderItem }) {
  const input = el('input', { type: 'search', class: 'search-input', placeholder, 'aria-label': label, autocomplete: 'off' });
  const status = el('p', { class: 'muted small', role: 'status' });
  const list = el('ul', { class: 'people-list', 'aria-label': 'People' });
  // One row per person for the search's life: a new answer reorders rows instead of replacing
  // them, so a row being clicked is never swapped out from under the pointer.
  const rows = new Map();
  // An answer that arrives while a pointer is pressed in the list waits for its release.
  const hold = pressGuard(list);
  // aria-busy says the list does not yet answer what is typed (waiting to search, or searching).
  let typed = 0;
  const settle = () => list.setAttribute('aria-busy', 'false');
  settle();
  let generation = 0;
  const run = async () => {
    const mine = ++generation;
    const asked = typed;
    const query = input.value.trim();
    status.textContent = 'Searching…';
    try {
      const users = (await store.searchUsers(query, 30)).filter(u => !exclude(u));
      if (mine !== generation) return;
      const show = () => {
        if (mine !== generation) return;
        list.replaceChildren(...users.map(u => {
          let row = rows.get(u.id);
          if (!row) rows.set(u.id, row = el('li', {}, renderItem(u)));
          return row;
        }));
        status.textContent = users.length ? '' : query ? `No one matches “${query}”.` : 'No one else is here yet.';
        if (asked === typed) settle();
      };
      if (!hold(show)) show();
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = error.message;
      if (asked === typed) settle();
    }
  };
  const debounced = debounce(run, 200);
  input.addEventListener('input', () => {
    typed++;
    list.setAttribute('aria-busy', 'true');
    debounced();
  });
  input.addEventListener('keydown', event => {
    if (event.key === 'ArrowDown') {
      list.querySelector('button, input')?.focus();
      event.preventDefault();
    }
  });
  return { node: el('div', { class: 'user-search' }, input, status, list), input, refresh: run };
}

export function openNewChat(store, { onOpen, onNewGroup }) {
  const m = modal('New chat');
  const error = errorLine();
  const search = userSearch(store, {
    label: 'Search people by name or email',
    placeholder: 'Search name or email',
    renderItem: user => el('button', {
      type: 'button', class: 'person',
      onclick: async event => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          const chatId = await store.startDirectChat(user.id);
          m.close();
          onOpen(chatId);
        } catch (e) {
          error.textContent = e.message;
          button.disabled = false;
        }
      },
    }, ...userRow(store, user)),
  });
  m.body.append(
    el('button', { type: 'button', class: 'person new-group', onclick: () => { m.close(); onNewGroup(); } },
      el('span', { class: 'avatar avatar-md avatar-icon', 'aria-hidden': 'true' }, icon(icons.group)),
      el('span', { class: 'person-text' }, el('span', { class: 'person-name' }, 'New group'))),
    search.node, error);
  search.input.focus();
  search.refresh();
}

export function openNewGroup(store, { onOpen }) {
  const m = modal('New group');
  const selected = new Map();
  const error = errorLine();
  // Names, descriptions and "about" have no maxlength, here nor in group info, the profile or sign-up:
  // it counts UTF-16 units, so an emoji would count twice. The server's sentence refuses text over its limit.
  const nameInput = el('input', { id: 'group-name', required: true, autocomplete: 'off' });
  const descriptionInput = el('input', { id: 'group-description', autocomplete: 'off' });
  const chips = el('ul', { class: 'chips', 'aria-label': 'Selected members' });
  const create = el('button', { type: 'submit', class: 'button primary', disabled: true }, 'Create group');

  const updateState = () => {
    chips.replaceChildren(...[...selected.values()].map(u => el('li', { class: 'chip' },
      el('span', {}, u.name),
      el('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${u.name}`, onclick: () => toggle(u, false) }, icon(icons.close)))));
    create.disabled = !nameInput.value.trim() || selected.size === 0;
    for (const box of m.body.querySelectorAll('input[type=checkbox][data-user-id]')) box.checked = selected.has(box.dataset.userId);
  };
  const toggle = (user, on) => {
    if (on) selected.set(user.id, user);
    else selected.delete(user.id);
    updateState();
  };
  const search = userSearch(store, {
    label: 'Search people to add',
    placeholder: 'Add people: search name or email',
    renderItem: user => {
      const box = el('input', { type: 'checkbox', dataset: { userId: user.id } });
      box.checked = selected.has(user.id);
      box.addEventListener('change', () => toggle(user, box.checked));
      return el('label', { class: 'person' }, box, ...userRow(store, user));
    },
  });
  nameInput.addEventListener('input', updateState);
  const form = el('form', { class: 'stack', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'group-name' }, 'Group name'), nameInput),
    el('div', { class: 'field' }, el('label', { for: 'group-description' }, 'Description (optional)'), descriptionInput),
    el('fieldset', { class: 'members-picker' }, el('legend', {}, 'Members'), chips, search.node),
    error,
    el('div', { class: 'dialog-actions' }, create));
  form.addEventListener('submit', async event => {
    event.preventDefault();
    if (create.disabled) return;
    create.disabled = true;
    error.textContent = '';
    try {
      const chatId = await store.createGroup(nameInput.value.trim(), descriptionInput.value.trim(), [...selected.keys()]);
      m.close();
      onOpen(chatId);
    } catch (e) {
      error.textContent = e.message;
      create.disabled = false;
    }
  });
  m.body.append(form);
  nameInput.focus();
  search.refresh();
}

export function openGroupInfo(store, chatId) {
  const m = modal('Group info', { className: 'group-info' });
  const error = errorLine();
  let confirmingLeave = false;
  let renaming = false;
  let addSearch = null;
  let addSection = null;
  let lastMembersKey = null;
  const currentMembers = () => {
    const chat = store.chats.get(chatId);
    return Array.isArray(chat?.members) ? chat.members : (chat?.participants ?? []).map(p => p.id);
  };

  const act = async (button, fn) => {
    error.textContent = '';
    button.disabled = true;
    try {
      await fn();
    } catch (e) {
      error.textContent = e.message;
    } finally {
      button.disabled = false;
    }
  };

  const render = () => {
    const chat = store.chats.get(chatId);
    if (!chat) {
      m.close();
      return;
    }
    const admin = store.isAdmin(chat);
    const members = Array.isArray(chat.members) ? chat.members : (chat.participants ?? []).map(p => p.id);
    const byId = new Map((chat.participants ?? []).map(p => [p.id, p]));
    const person = id => ({ id, ...(store.users.get(id) ?? {}), ...(byId.get(id) ?? {}), ...(id === store.me.id ? { name: store.me.name, avatar: store.me.avatar, photoUrl: store.me.photoUrl } : {}) });
    const sorted = [...members].sort((a, b) => (a === store.me.id ? -1 : b === store.me.id ? 1 : 0)
      || Number(store.isAdmin(chat, b)) - Number(store.isAdmin(chat, a))
      || String(person(a).name ?? '').localeCompare(String(person(b).name ?? '')));

    const nameInput = el('input', { id: 'info-name', value: chat.groupName ?? '', autocomplete: 'off' });
    const descriptionInput = el('input', { id: 'info-description', value: chat.groupDescription ?? '', autocomplete: 'off' });
    const renameForm = el('form', { class: 'stack rename-form' },
      el('div', { class: 'field' }, el('label', { for: 'info-name' }, 'Group name'), nameInput),
      el('div', { class: 'field' }, el('label', { for: 'info-description' }, 'Description'), descriptionInput),
      el('div', { class: 'dialog-actions' }, el('button', { type: 'submit', class: 'button primary' }, 'Save')));
    renameForm.addEventListener('submit', event => {
      event.preventDefault();
      const name = nameInput.value.trim();
      if (!name) {
        error.textContent = 'The group needs a name.';
        return;
      }
      act(renameForm.querySelector('button[type=submit]'), async () => {
        renaming = true;
        try {
          await store.renameGroup(chatId, name, descriptionInput.value.trim());
        } finally {
          renaming = false;
        }
        store.toast('Group info saved.');
      });
    });

    const memberItems = sorted.map(id => {
      const p = person(id);
      const isMe = id === store.me.id;
      const isAdmin = store.isAdmin(chat, id);
      const actions = [];
      if (admin && !isMe) {
        // A deleted account is never made an admin (the server refuses it); dismissing it as
        // admin and removing it stay on offer.
        let adminButton = null;
        if (isAdmin || !p.deleted) {
          adminButton = el('button', { type: 'button', class: 'button small' }, isAdmin ? 'Dismiss as admin' : 'Make admin');
          adminButton.setAttribute('aria-label', `${isAdmin ? 'Dismiss as admin' : 'Make admin'}: ${p.name}`);
          adminButton.addEventListener('click', () => act(adminButton, () => store.setAdmin(chatId, id, !isAdmin)));
        }
        const removeButton = el('button', { type: 'button', class: 'button small danger', 'aria-label': `Remove ${p.name}` }, 'Remove');
        removeButton.addEventListener('click', () => act(removeButton, () => store.removeMember(chatId, id)));
        actions.push(el('span', { class: 'member-actions' }, adminButton, removeButton));
      }
      return el('li', { class: 'member', dataset: { userId: id } },
        avatar(store.api, { name: p.name, avatar: p.photoUrl || p.avatar, seed: id, online: !isMe && p.online }),
        el('span', { class: 'person-text' },
          el('span', { class: 'person-name' }, isMe ? `${p.name ?? 'You'} (You)` : p.name ?? 'Unknown'),
          isAdmin ? el('span', { class: 'badge-admin' }, 'Admin') : null),
        ...actions);
    });

    const sections = [
      el('div', { class: 'group-hero' },
        avatar(store.api, { name: chat.groupName, seed: chat.id, size: 'xl' }),
        el('p', { class: 'group-title' }, chat.groupName ?? 'Group'),
        chat.groupDescription ? el('p', { class: 'muted' }, chat.groupDescription) : null,
        el('p', { class: 'muted small' }, `Group · ${members.length} ${members.length === 1 ? 'member' : 'members'}`)),
      admin ? renameForm : null,
      el('section', { 'aria-labelledby': 'members-heading' },
        el('h3', { id: 'members-heading' }, `${members.length} ${members.length === 1 ? 'member' : 'members'}`),
        el('ul', { class: 'member-list', 'aria-label': 'Members' }, ...memberItems)),
    ];
    if (admin) {
      // One search box for the dialog's life, so a re-render keeps what is typed in it.
      if (!addSearch) {
        addSearch = userSearch(store, {
          label: 'Search people to add to the group',
          placeholder: 'Add members: search name or email',
          exclude: u => currentMembers().includes(u.id),
          renderItem: user => {
            const add = el('button', { type: 'button', class: 'button small', 'aria-label': `Add ${user.name}` }, 'Add');
            add.addEventListener('click', () => act(add, () => store.addMembers(chatId, [user.id])));
            return el('div', { class: 'person' }, ...userRow(store, user, [add]));
          },
        });
        addSection = el('section', { 'aria-labelledby': 'add-heading' }, el('h3', { id: 'add-heading' }, 'Add members'), addSearch.node);
      }
      const membersKey = members.join(',');
      if (membersKey !== lastMembersKey) addSearch.refresh();
      lastMembersKey = membersKey;
      sections.push(addSection);
    }
    const leave = el('button', { type: 'button', class: 'button danger' }, confirmingLeave ? 'Yes, leave group' : 'Leave group');
    leave.addEventListener('click', () => {
      if (!confirmingLeave) {
        confirmingLeave = true;
        render();
        m.body.querySelector('.leave-zone .danger')?.focus();
        return;
      }
      act(leave, async () => {
        await store.removeMember(chatId, store.me.id);
        m.close();
      });
    });
    const leaveZone = el('div', { class: 'leave-zone' },
      confirmingLeave ? el('p', {}, 'Leave this group? You will no longer get its messages.') : null,
      leave,
      confirmingLeave ? el('button', { type: 'button', class: 'button', onclick: () => { confirmingLeave = false; render(); } }, 'Cancel') : null);
    sections.push(error, leaveZone);

    // Keep focus where it was across a re-render (by id or aria-label).
    const focused = document.activeElement;
    const focusKey = focused && m.body.contains(focused) ? (focused.id ? `#${CSS.escape(focused.id)}` : focused.getAttribute('aria-label') ? `[aria-label="${CSS.escape(focused.getAttribute('aria-label'))}"]` : null) : null;
    const keepName = m.body.querySelector('#info-name');
    const keepDescription = m.body.querySelector('#info-description');
    if (keepName && keepName.value !== (chat.groupName ?? '') && document.activeElement === keepName) nameInput.value = keepName.value;
    if (keepDescription && document.activeElement === keepDescription) descriptionInput.value = keepDescription.value;
    const savedError = error.textContent;
    m.body.replaceChildren(...sections.filter(Boolean));
    error.textContent = savedError;
    if (focusKey) m.body.querySelector(focusKey)?.focus();
  };

  const onChange = event => {
    if (renaming) return;
    if (event.detail.what === 'chats' && (event.detail.chatId === chatId || event.detail.chatId === null)) render();
    if (event.detail.what === 'presence') render();
  };
  store.addEventListener('change', onChange);
  m.onClose(() => store.removeEventListener('change', onChange));
  render();
}

export function openProfile(store) {
  const m = modal('Your profile');
  const error = errorLine();
  const me = store.me;
  const picture = el('div', { class: 'profile-photo' });
  const showPicture = () => picture.replaceChildren(avatar(store.api, { name: store.me.name, avatar: store.me.photoUrl || store.me.avatar, seed: store.me.id, size: 'xl', label: 'Your profile photo' }));
  showPicture();
  const file = el('input', { type: 'file', id: 'profile-photo', accept: 'image/jpeg,image/png,image/webp', class: 'visually-hidden' });
  const photoButton = el('label', { for: 'profile-photo', class: 'button small' }, 'Change photo');
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    error.textContent = '';
    photoButton.setAttribute('aria-busy', 'true');
    try {
      await store.uploadPhoto(chosen);
      showPicture();
      store.toast('Profile photo updated.');
    } catch (e) {
      error.textContent = e.message;
    } finally {
      photoButton.removeAttribute('aria-busy');
      file.value = '';
    }
  });
  const nameInput = el('input', { id: 'profile-name', value: me.name ?? '', autocomplete: 'name', required: true });
  const aboutInput = el('input', { id: 'profile-about', value: me.about ?? '', autocomplete: 'off' });
  const save = el('button', { type: 'submit', class: 'button primary' }, 'Save');
  // Your data to take with you: profile, chats and your own messages, as one JSON file.
  const exportButton = el('button', { type: 'button', class: 'button' }, 'Download my data');
  exportButton.addEventListener('click', async () => {
    error.textContent = '';
    exportButton.disabled = true;
    try {
      const data = await store.api.get('/users/me/export');
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const link = el('a', { href: url, download: `parley-export-${new Date().toISOString().slice(0, 10)}.json` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      error.textContent = e.message;
    } finally {
      exportButton.disabled = false;
    }
  });
  const form = el('form', { class: 'stack' },
    el('div', { class: 'group-hero' }, picture, file, photoButton, el('p', { class: 'muted small' }, me.email ?? '')),
    el('div', { class: 'field' }, el('label', { for: 'profile-name' }, 'Your name'), nameInput),
    el('div', { class: 'field' }, el('label', { for: 'profile-about' }, 'About'), aboutInput),
    error,
    el('div', { class: 'dialog-actions' }, exportButton, save));
  form.addEventListener('submit', async event => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      error.textContent = 'Please enter your name.';
      nameInput.focus();
      return;
    }
    save.disabled = true;
    error.textContent = '';
    try {
      await store.updateProfile({ name, about: aboutInput.value.trim() });
      m.close();
      store.toast('Profile saved.');
    } catch (e) {
      error.textContent = e.message;
    } finally {
      save.disabled = false;
    }
  });
  m.body.append(form, twoStepSection(store));
  nameInput.focus();
}

/** Two-step verification in the profile: turn it on (secret and otpauth URI for the app, a
 * first code to confirm, recovery codes shown once) or off (with a current code). */
function twoStepSection(store) {
  const section = el('section', { class: 'stack two-step', 'aria-labelledby': 'mfa-title' });
  const error = el('p', { class: 'form-error', role: 'alert', id: 'mfa-section-error' });
  const title = el('h3', { id: 'mfa-title' }, 'Two-step verification');
  const fail = e => { error.textContent = e.message; };

  const showOff = () => {
    const start = el('button', { type: 'button', class: 'button small', id: 'mfa-enable' }, 'Turn on two-step verification');
    start.addEventListener('click', async () => {
      error.textContent = '';
      try {
        showEnrolment(await store.api.request('POST', '/users/me/mfa'));
      } catch (e) { fail(e); }
    });
    section.replaceChildren(title, el('p', { class: 'muted small', id: 'mfa-status' }, 'Off. Signing in needs only your password.'), error, start);
  };

  const showEnrolment = enrolment => {
    const code = el('input', { id: 'mfa-confirm-code', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: '6', required: true });
    const confirm = el('button', { type: 'submit', class: 'button small primary' }, 'Confirm');
    const form = el('form', { class: 'stack' },
      el('p', { class: 'small' }, 'Add Parley to your authenticator app with this key or link, then enter the code it shows.'),
      el('p', {}, el('code', { id: 'mfa-secret', class: 'mfa-secret' }, enrolment.secret)),
      el('p', { class: 'small' }, el('a', { id: 'mfa-uri', href: enrolment.otpauthUri }, 'Open in authenticator app')),
      el('div', { class: 'field' }, el('label', { for: 'mfa-confirm-code' }, 'Code from the app'), code),
      error,
      el('div', { class: 'dialog-actions' }, confirm));
    form.addEventListener('submit', async event => {
      event.preventDefault();
      error.textContent = '';
      confirm.disabled = true;
      try {
        const answer = await store.api.request('POST', '/users/me/mfa/confirm', { code: code.value.trim() });
        showRecoveryCodes(answer.recoveryCodes ?? []);
      } catch (e) {
        fail(e);
      } finally {
        confirm.disabled = false;
      }
    });
    section.replaceChildren(title, form);
    code.focus();
  };

  const showRecoveryCodes = codes => {
    const done = el('button', { type: 'button', class: 'button small' }, 'Done');
    done.addEventListener('click', showOn);
    section.replaceChildren(title,
      el('p', { class: 'small', id: 'mfa-status' }, 'On. Keep these recovery codes somewhere safe: each one signs you in once if you lose your phone. They are shown only now.'),
      el('ul', { id: 'mfa-recovery-codes', class: 'recovery-codes' }, ...codes.map(c => el('li', {}, el('code', {}, c)))),
      done);
    done.focus();
  };

  const showOn = () => {
    const code = el('input', { id: 'mfa-disable-code', autocomplete: 'one-time-code', maxlength: '20', required: true });
    const off = el('button', { type: 'submit', class: 'button small' }, 'Turn off');
    const form = el('form', { class: 'stack' },
      el('p', { class: 'muted small', id: 'mfa-status' }, 'On. Signing in asks for a code from your authenticator app.'),
      el('div', { class: 'field' }, el('label', { for: 'mfa-disable-code' }, 'Current code (or a recovery code)'), code),
      error,
      el('div', { class: 'dialog-actions' }, off));
    form.addEventListener('submit', async event => {
      event.preventDefault();
      error.textContent = '';
      off.disabled = true;
      try {
        await store.api.request('DELETE', '/users/me/mfa', { code: code.value.trim() });
        store.toast('Two-step verification is off.');
        showOff();
      } catch (e) {
        fail(e);
      } finally {
        off.disabled = false;
      }
    });
    section.replaceChildren(title, form);
  };

  section.append(title, el('p', { class: 'muted small' }, 'Checking…'));
  store.api.request('GET', '/users/me/mfa').then(status => (status?.enabled ? showOn() : showOff()), fail);
  return section;
}
