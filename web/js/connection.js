// The WebSocket to the server: connect, authenticate, keep alive, reconnect.
//
// States (the `state` event carries them, with details for the UI):
//   connecting   a socket is being opened (first attempt or a retry)
//   ready        the server sent `welcome`: packets may flow
//   waiting      the socket closed; the next attempt is at `retryAt`
//   offline      like waiting, while the browser says it has no network; the
//                `online` event retries at once (attempts go on regardless:
//                navigator.onLine can be false on a machine that reaches its
//                server over loopback only)
//   stopped      stop() was called (signed out)
//
// Reconnecting uses exponential back-off with full jitter between half and all
// of the delay (0.5 s, 1 s, 2 s ... capped at 15 s), reset once a connection
// has been ready for a while, so a crashed server is not hammered by every
// client at the same instant but a blip is recovered in under a second.
//
// Dead connections are found with application pings: every 20 s of silence we
// send `ping`; if nothing at all arrives within 8 s the socket is dropped and a
// new one opened. The server's own WebSocket pings do not reach script.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const POLICY_DELAY_MS = 5000;        // after close 1008: the server asked us to slow down
const STABLE_AFTER_MS = 10000;       // a connection this old resets the back-off
const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 8000;
const WELCOME_WITHIN_MS = 10000;

export class Connection extends EventTarget {
  /** @param protocol the loaded wasm protocol module; @param url ws(s):// URL of /ws */
  constructor(protocol, url) {
    super();
    this.protocol = protocol;
    this.url = url;
    this.state = 'stopped';
    this.ws = null;
    this.attempt = 0;
    this.retryAt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.deadlineTimer = 0;
    this.readySince = 0;
    this.nonce = 1;
    this.lastClose = null;
    this.stats = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, decodeErrors: 0 };
    this.onOnline = () => this.retryNow();
    this.onOffline = () => {
      if (this.state !== 'ready' && this.state !== 'stopped') this.setState('offline');
    };
  }

  start() {
    if (this.state !== 'stopped') return;
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
    this.open();
  }

  stop() {
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    clearTimeout(this.retryTimer);
    this.drop(1000, 'signed out');
    this.setState('stopped');
  }

  /** Skips the back-off wait (the "Retry now" button, the `online` event). */
  retryNow() {
    if (this.state === 'waiting' || this.state === 'offline') {
      clearTimeout(this.retryTimer);
      this.open();
    }
  }

  get ready() {
    return this.state === 'ready';
  }

  /** Sends one packet; returns false when not connected (the caller keeps it). */
  send(packet) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    return this.write(this.protocol.encode(packet), 1);
  }

  /** Sends several packets as one batch message (one WebSocket frame). */
  sendBatch(packets) {
    if (packets.length === 0) return true;
    if (packets.length === 1) return this.send(packets[0]);
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    return this.write(this.protocol.encodeBatch(packets), packets.length);
  }

  write(bytes, count) {
    this.ws.send(bytes);
    this.stats.bytesOut += bytes.byteLength;
    this.stats.packetsOut += count;
    return true;
  }

  // ---- opening and closing ---------------------------------------------------

  open() {
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      console.error('parley: cannot open the WebSocket', e);
      return this.scheduleRetry();
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.armDeadline(WELCOME_WITHIN_MS);
      this.dispatchEvent(new Event('opened'));
    };
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onclose = (ev) => this.onClose(ws, ev.code, ev.reason);
    ws.onerror = () => {}; // always followed by close
  }

  onClose(ws, code, reason) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.lastClose = { code, reason };
    this.clearTimers();
    if (this.state === 'stopped') return;
    if (this.readySince && Date.now() - this.readySince > STABLE_AFTER_MS) this.attempt = 0;
    this.readySince = 0;
    this.dispatchEvent(new CustomEvent('closed', { detail: { code, reason } }));
    this.scheduleRetry(code === 1008 ? POLICY_DELAY_MS : 0);
  }

  /** Abandons the current socket at once, without waiting for its close handshake. */
  drop(code, reason) {
    const ws = this.ws;
    this.ws = null;
    this.clearTimers();
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  scheduleRetry(minDelay = 0) {
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    const delay = Math.max(minDelay, ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt = Math.min(this.attempt + 1, 10);
    this.retryAt = Date.now() + delay;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
    this.setState(navigator.onLine ? 'waiting' : 'offline');
  }

  /** A silent connection is considered dead: drop it and reconnect. */
  onDeadline() {
    console.warn('parley: the server stopped answering; reconnecting');
    const ws = this.ws;
    this.drop(4000, 'no answer');
    if (ws) this.onClose(ws, 1006, 'no answer');
    else this.scheduleRetry();
  }

  // ---- receiving ---------------------------------------------------------------

  onMessage(data) {
    if (!(data instanceof ArrayBuffer)) return; // the protocol is binary only
    this.stats.bytesIn += data.byteLength;
    this.armPing();
    let packets;
    try {
      packets = this.protocol.decode(new Uint8Array(data));
    } catch (e) {
      this.stats.decodeErrors++;
      console.error('parley: undecodable message from the server', e);
      return;
    }
    for (const p of packets) {
      this.stats.packetsIn++;
      if (p.type === 'welcome') this.onWelcome();
      if (p.type === 'pong') continue;
      this.dispatchEvent(new CustomEvent('packet', { detail: p }));
    }
  }

  onWelcome() {
    this.readySince = Date.now();
    this.setState('ready');
  }

  // ---- keep-alive ----------------------------------------------------------------

  armPing() {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = 0;
    if (this.state !== 'ready') return this.armDeadline(WELCOME_WITHIN_MS);
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      this.send({ type: 'ping', nonce: this.nonce++ });
      this.armDeadline(PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  armDeadline(ms) {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.onDeadline(), ms);
  }

  clearTimers() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.deadlineTimer);
    this.pingTimer = this.deadlineTimer = 0;
  }

  setState(state) {
    if (state === 'ready') this.armPing();
    const changed = state !== this.state;
    this.state = state;
    if (changed || state === 'waiting' || state === 'offline') {
      this.dispatchEvent(new CustomEvent('state', { detail: { state, retryAt: this.retryAt, attempt: this.attempt } }));
    }
  }
}
