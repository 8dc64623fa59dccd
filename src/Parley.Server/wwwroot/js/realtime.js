// The WebSocket side of the contract: one socket to /ws, reconnected with backoff and resumed with `since`.

const PING_EVERY_MS = 25_000;
/** No frame at all for this long (two pings unanswered) means the connection is dead though not closed. */
const SILENCE_LIMIT_MS = 65_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15_000;

/**
 * Events: `state` (detail: 'connecting' | 'open' | 'stopped'), `open` (detail: {resumed}),
 * `frame` (detail: a parsed server frame).
 * Options:
 *  - url(since): (a promise of) the socket address with a one-use ticket and the resume cursor.
 *  - cursor(): the last cursor seen, or null.
 *  - beforeConnect(attempt): awaited before each attempt after the first failure (refreshes tokens,
 *    checks the server answers); a throw counts as a failed attempt.
 */
export class Realtime extends EventTarget {
  constructor({ url, cursor, beforeConnect }) {
    super();
    this._url = url;
    this._cursor = cursor;
    this._beforeConnect = beforeConnect;
    this.state = 'stopped';
    this._socket = null;
    this._attempt = 0;
    this._timer = 0;
    this._pingTimer = 0;
    this._lastFrameAt = 0;
    this._running = false;
    this._everOpened = false;
    this._onOnline = () => {
      if (!this._running) return;
      this._attempt = 0;
      if (this.state !== 'open') this._connectSoon(0);
    };
    // The system says the network is gone: an open socket may not notice for a long time, so drop it
    // now and show that we are reconnecting.
    this._onOffline = () => {
      if (this._running && this._socket) this.reconnect();
    };
  }

  get isOpen() { return this._socket?.readyState === WebSocket.OPEN && this.state === 'open'; }

  start() {
    if (this._running) return;
    this._running = true;
    window.addEventListener('online', this._onOnline);
    window.addEventListener('offline', this._onOffline);
    this._connect();
  }

  stop() {
    this._running = false;
    window.removeEventListener('online', this._onOnline);
    window.removeEventListener('offline', this._onOffline);
    clearTimeout(this._timer);
    clearInterval(this._pingTimer);
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onopen = socket.onclose = socket.onmessage = socket.onerror = null;
      try { socket.close(1000, 'bye'); } catch { /* already closed */ }
    }
    this._setState('stopped');
  }

  /** Drops the current socket at once (without waiting for a close handshake that may never
   * come on a dead network) and reconnects. */
  reconnect() {
    if (!this._running) return;
    const socket = this._socket;
    if (socket) {
      this._socket = null;
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      try { socket.close(4000, 'reconnect'); } catch { /* already closed */ }
    }
    clearInterval(this._pingTimer);
    this._setState('connecting');
    this._connectSoon(100 + Math.random() * 200);
  }

  /** Sends a client frame; false when the socket is not open (the caller keeps it for later). */
  send(frame) {
    if (!this.isOpen) return false;
    try {
      this._socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }

  _connectSoon(delay) {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._connect(), delay);
  }

  async _connect() {
    if (!this._running) return;
    clearTimeout(this._timer);
    if (this._socket || this._opening) return;
    this._opening = true;
    try {
      await this._open();
    } finally {
      this._opening = false;
    }
  }

  async _open() {
    this._setState('connecting');
    const attempt = this._attempt;
    if (attempt > 0 && this._beforeConnect) {
      try {
        await this._beforeConnect(attempt);
      } catch {
        if (this._running) this._scheduleRetry();
        return;
      }
      if (!this._running || this._socket) return;
    }
    let socket;
    try {
      const url = await this._url(this._cursor());
      if (!this._running || this._socket) return;
      socket = new WebSocket(url);
    } catch {
      if (this._running) this._scheduleRetry();
      return;
    }
    this._socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this._attempt = 0;
      this._lastFrameAt = Date.now();
      this._setState('open');
      const resumed = this._everOpened;
      this._everOpened = true;
      this.dispatchEvent(new CustomEvent('open', { detail: { resumed } }));
      clearInterval(this._pingTimer);
      this._pingTimer = setInterval(() => this._heartbeat(), PING_EVERY_MS);
    };
    socket.onmessage = event => {
      this._lastFrameAt = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame && typeof frame === 'object') this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
    };
    socket.onclose = () => {
      if (this._socket !== socket) return;
      this._socket = null;
      clearInterval(this._pingTimer);
      if (!this._running) return;
      if (!opened) this._attempt++;
      this._setState('connecting');
      // A socket that opened and then dropped retries at once; repeated failures back off.
      if (opened) this._connectSoon(100 + Math.random() * 200);
      else this._scheduleRetry(false);
    };
    socket.onerror = () => { /* onclose follows */ };
  }

  _scheduleRetry(count = true) {
    if (count) this._attempt++;
    const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, this._attempt - 1));
    const delay = exp * (0.7 + Math.random() * 0.6);
    this._connectSoon(delay);
  }

  _heartbeat() {
    if (!this.isOpen) return;
    if (Date.now() - this._lastFrameAt > SILENCE_LIMIT_MS) {
      this.reconnect();
      return;
    }
    this.send({ action: 'ping' });
  }
}
