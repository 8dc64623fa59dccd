// The REST side of the contract (docs/API.md): the session, its refresh, and JSON requests.

const SESSION_KEY = 'parley.session';
/** Refresh this long before the access token expires (or a fifth of its life, if shorter). */
const REFRESH_MARGIN_MS = 120_000;

export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

/** The server could not be reached at all (it is down, or we are offline). */
export class NetworkError extends Error {
  constructor(cause) {
    super('Cannot reach the server.');
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

function readStoredSession() {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    const session = raw ? JSON.parse(raw) : null;
    return session?.accessToken && session?.refreshToken && session?.user?.id ? session : null;
  } catch {
    return null;
  }
}

/** Holds the signed-in session and makes authenticated requests, refreshing the tokens before they expire. */
export class Api extends EventTarget {
  constructor(baseUrl = '') {
    super();
    this.baseUrl = baseUrl;
    this.session = readStoredSession();
    this._refreshing = null;
    this._refreshTimer = 0;
    // Another tab of the same browser refreshed or signed out: follow it, never reuse its spent refresh token.
    window.addEventListener('storage', event => {
      if (event.key !== SESSION_KEY) return;
      const next = readStoredSession();
      if (!next) {
        if (this.session) this._signedOut('You signed out in another tab.');
      } else if (this.session && next.user.id === this.session.user.id) {
        this.session = next;
        this._scheduleRefresh();
      }
    });
    document.addEventListener('visibilitychange', () => {
      // Timers sleep with a suspended laptop; catch up when the page is looked at again.
      if (document.visibilityState === 'visible' && this.session && this._needsRefresh()) this.refresh().catch(() => {});
    });
    if (this.session) this._scheduleRefresh();
  }

  get user() { return this.session?.user ?? null; }
  get accessToken() { return this.session?.accessToken ?? null; }
  get signedIn() { return this.session !== null; }

  async register(email, password, name) {
    await this._fetchJson('POST', '/auth/register', { email, password, name }, { auth: false });
    return this.login(email, password);
  }

  /** Signs in; with two-step verification on, answers { mfaRequired: true, mfaToken } for completeMfa. */
  async login(email, password) {
    return this._signedIn(await this._fetchJson('POST', '/auth/login', { email, password }, { auth: false }));
  }

  /** The second step of a sign-in: a code from the authenticator app, or a recovery code. */
  async completeMfa(mfaToken, code) {
    return this._signedIn(await this._fetchJson('POST', '/auth/mfa', { mfaToken, code }, { auth: false }));
  }

  /** Phone accounts: sign-up sends a code to the phone; the account works once the code is confirmed. */
  signUpWithPhone(phoneNumber, password, name) {
    return this._fetchJson('POST', '/auth/sign-up', { phoneNumber, password, name }, { auth: false });
  }

  confirmPhone(phoneNumber, code) {
    return this._fetchJson('POST', '/auth/account-confirmation', { phoneNumber, code }, { auth: false });
  }

  resendCode(phoneNumber) {
    return this._fetchJson('POST', '/auth/resend-code', { phoneNumber }, { auth: false });
  }

  /** Like login: { mfaRequired: true, mfaToken } when two-step verification is on. */
  async signInWithPhone(phoneNumber, password) {
    return this._signedIn(await this._fetchJson('POST', '/auth/sign-in', { phoneNumber, password }, { auth: false }));
  }

  /** who: {email} or {phoneNumber}. The server answers 202 whether or not the account exists. */
  forgotPassword(who) {
    return this._fetchJson('POST', '/auth/forgot-password', who, { auth: false });
  }

  resetPassword(who, code, newPassword) {
    return this._fetchJson('POST', '/auth/reset-password', { ...who, code, newPassword }, { auth: false });
  }

  _signedIn(answer) {
    if (answer.mfaRequired) return { mfaRequired: true, mfaToken: answer.mfaToken };
    this._store({
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      expiresAt: Date.now() + (answer.expiresIn ?? 3600) * 1000,
      lifetimeMs: (answer.expiresIn ?? 3600) * 1000,
      user: answer.user,
    });
    return answer.user;
  }

  async logout() {
    const session = this.session;
    this._clear();
    if (session) {
      try {
        await this._fetchJson('POST', '/auth/logout', { refreshToken: session.refreshToken }, { auth: false });
      } catch {
        // Signed out locally either way; the refresh token expires on its own.
      }
    }
    this.dispatchEvent(new CustomEvent('signedout', { detail: { reason: null } }));
  }

  /** Updates the cached profile (name shown in the header). */
  updateUser(user) {
    if (!this.session) return;
    this._store({ ...this.session, user: { ...this.session.user, ...user } });
  }

  /** Sends a file as the raw body (profile photo, media), with the same 401 handling as request(). */
  async upload(method, path, blob) {
    const send = async () => {
      let response;
      try {
        response = await fetch(this.baseUrl + path, {
          method,
          headers: { Authorization: `Bearer ${this.accessToken}`, 'Content-Type': blob.type || 'application/octet-stream', Accept: 'application/json' },
          body: blob,
        });
      } catch (error) {
        throw new NetworkError(error);
      }
      const text = await response.text().catch(() => '');
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = null; }
      if (!response.ok) throw new ApiError(response.status, json?.error || defaultMessage(response.status), json);
      return json;
    };
    if (!this.session) throw new ApiError(401, 'Not signed in.');
    if (this._needsRefresh(0)) await this.refresh();
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await this.refresh(true);
      return send();
    }
  }

  get(path) { return this.request('GET', path); }
  post(path, body) { return this.request('POST', path, body ?? {}); }
  put(path, body) { return this.request('PUT', path, body ?? {}); }
  patch(path, body) { return this.request('PATCH', path, body ?? {}); }
  delete(path) { return this.request('DELETE', path); }

  /** An authenticated JSON request. A 401 refreshes the tokens once and retries; a second 401 signs out. */
  async request(method, path, body) {
    if (!this.session) throw new ApiError(401, 'Not signed in.');
    if (this._needsRefresh(0)) await this.refresh();
    try {
      return await this._fetchJson(method, path, body, { auth: true });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || !this.session) throw error;
      await this.refresh(true);
      try {
        return await this._fetchJson(method, path, body, { auth: true });
      } catch (again) {
        if (again instanceof ApiError && again.status === 401) this._signedOut('Your session has ended. Please sign in again.');
        throw again;
      }
    }
  }

  _needsRefresh(marginMs) {
    const s = this.session;
    if (!s) return false;
    const margin = marginMs ?? Math.min(REFRESH_MARGIN_MS, (s.lifetimeMs ?? 3_600_000) / 5);
    return Date.now() >= s.expiresAt - margin;
  }

  /** Rotates the refresh token. One refresh at a time in this tab, and (with Web Locks) across tabs:
   * presenting an already-used refresh token would revoke the whole session family. */
  refresh(force = false) {
    if (this._refreshing) return this._refreshing;
    const before = this.session?.refreshToken;
    const run = async () => {
      // Another tab may have rotated while we waited for the lock: adopt its tokens.
      const stored = readStoredSession();
      if (stored && this.session && stored.user.id === this.session.user.id && stored.refreshToken !== before) {
        this.session = stored;
        this._scheduleRefresh();
        if (!this._needsRefresh()) return;
      }
      if (!force && !this._needsRefresh()) return;
      const session = this.session;
      if (!session) throw new ApiError(401, 'Not signed in.');
      let answer;
      try {
        answer = await this._fetchJson('POST', '/auth/refresh', { refreshToken: session.refreshToken }, { auth: false });
      } catch (error) {
        if (error instanceof ApiError && (error.status === 401 || error.status === 400)) {
          this._signedOut('Your session has ended. Please sign in again.');
        }
        throw error;
      }
      this._store({
        ...session,
        accessToken: answer.accessToken,
        refreshToken: answer.refreshToken,
        expiresAt: Date.now() + (answer.expiresIn ?? 3600) * 1000,
        lifetimeMs: (answer.expiresIn ?? 3600) * 1000,
      });
    };
    const locked = navigator.locks?.request ? () => navigator.locks.request('parley-token-refresh', run) : run;
    this._refreshing = locked().finally(() => { this._refreshing = null; });
    return this._refreshing;
  }

  _scheduleRefresh() {
    clearTimeout(this._refreshTimer);
    const s = this.session;
    if (!s) return;
    const margin = Math.min(REFRESH_MARGIN_MS, (s.lifetimeMs ?? 3_600_000) / 5);
    const delay = Math.max(1000, s.expiresAt - margin - Date.now());
    this._refreshTimer = setTimeout(() => {
      this.refresh().catch(error => {
        // Offline or the server is restarting: try again shortly; the token is still valid for a while.
        if (error instanceof NetworkError || (error instanceof ApiError && error.status >= 500)) {
          clearTimeout(this._refreshTimer);
          this._refreshTimer = setTimeout(() => this._scheduleRefresh(), 10_000);
        }
      });
    }, Math.min(delay, 2_147_000_000));
  }

  _store(session) {
    this.session = session;
    localStorage.setItem(SESSION_KEY, JSON.stringify(session));
    this._scheduleRefresh();
    this.dispatchEvent(new CustomEvent('session'));
  }

  _clear() {
    clearTimeout(this._refreshTimer);
    this.session = null;
    localStorage.removeItem(SESSION_KEY);
  }

  _signedOut(reason) {
    if (!this.session) return;
    this._clear();
    this.dispatchEvent(new CustomEvent('signedout', { detail: { reason } }));
  }

  async _fetchJson(method, path, body, { auth }) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth && this.session) headers.Authorization = `Bearer ${this.session.accessToken}`;
    let response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (error) {
      throw new NetworkError(error);
    }
    const text = await response.text().catch(() => '');
    let json = null;
    if (text) {
      try { json = JSON.parse(text); } catch { json = null; }
    }
    if (!response.ok) {
      const message = json?.error || json?.title || json?.detail || defaultMessage(response.status);
      const error = new ApiError(response.status, message, json);
      error.retryAfter = Number(response.headers.get('Retry-After')) || null;
      throw error;
    }
    return json;
  }
}

function defaultMessage(status) {
  switch (status) {
    case 400: return 'The request was not accepted.';
    case 401: return 'Please sign in again.';
    case 403: return 'You are not allowed to do that.';
    case 404: return 'Not found.';
    case 409: return 'That conflicts with something that exists.';
    case 413: return 'That is too large.';
    case 429: return 'Too many attempts; try again later.';
    default: return status >= 500 ? 'The server had a problem; try again.' : `Request failed (${status}).`;
  }
}
