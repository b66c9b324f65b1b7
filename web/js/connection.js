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
//   outdated     the server closed with 1002: it speaks another protocol
//                version (docs/protocol.md, section 17); nothing is retried,
//                the page must be reloaded for the server's client
//
// Reconnecting waits with full jitter between half and all of a ceiling that
// grows with how long the connection has been lost, not with how many
// attempts failed: a tenth of the outage so far, between 0.5 s and 15 s. A
// blip is recovered in under a second, a 30 s outage is retried every 1.5-3 s,
// and a server that is down for minutes is not hammered by every client at
// the same instant. The outage ends once a connection has been ready for a
// while (a server that welcomes and drops at once does not reset it). The
// `online` event and a tab becoming visible again retry at once.
//
// Dead connections. A network that drops silently closes nothing, so the
// client sends `ping` after 20 s of silence and drops the socket if nothing
// at all arrives within 8 s; the browser's `offline` event probes at once
// (nothing within 4 s: dropped). The server's WebSocket pings do not reach
// script. Every way a socket ends goes through lost(), which schedules the
// next attempt.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const OUTAGE_FRACTION = 0.1;         // the retry ceiling is this share of the outage so far
const POLICY_DELAY_MS = 5000;        // after close 1008: the server asked us to slow down
const STABLE_AFTER_MS = 10000;       // ready this long: the outage is over
const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 8000;
const PROBE_WITHIN_MS = 4000;        // after the browser's `offline` event
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
    this.outageSince = 0;            // when the connection was lost; 0: not lost
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
      if (this.state === 'ready') this.probe(PROBE_WITHIN_MS);
      else if (this.state !== 'stopped' && this.state !== 'outdated') this.setState('offline');
    };
    this.onVisible = () => {
      if (document.visibilityState === 'visible') this.retryNow();
    };
  }

  start() {
    if (this.state !== 'stopped') return;
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisible);
    this.open();
  }

  stop() {
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisible);
    clearTimeout(this.retryTimer);
    this.drop(1000, 'signed out');
    this.setState('stopped');
  }

  /** Skips the back-off wait (the "Retry now" button, the `online` event). */
  retryNow() {
    if (this.state === 'outdated') return;
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
    // Attempts go on while the browser says it is offline (see above), but
    // the state stays `offline`: that is what the user should be told.
    this.setState(navigator.onLine || this.state === 'stopped' ? 'connecting' : 'offline');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      console.error('parley: cannot open the WebSocket', e);
      return this.scheduleRetry();
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.armDeadline(WELCOME_WITHIN_MS); // a connect that hangs counts as lost too
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
    this.lost(code, reason);
  }

  /** The socket is gone, however it ended: tell the listeners and plan the next attempt. */
  lost(code, reason) {
    this.lastClose = { code, reason };
    this.clearTimers();
    if (this.state === 'stopped') return;
    const now = Date.now();
    if (this.readySince && now - this.readySince > STABLE_AFTER_MS) this.outageSince = 0;
    this.readySince = 0;
    if (!this.outageSince) {
      this.outageSince = now;
      this.attempt = 0;
    }
    this.dispatchEvent(new CustomEvent('closed', { detail: { code, reason } }));
    if (code === 1002) {
      // Another protocol version: trying again cannot help, a reload can.
      console.warn(`parley: the server speaks another protocol version (${reason})`);
      clearTimeout(this.retryTimer);
      this.setState('outdated');
      return;
    }
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

  /** The wait before the next attempt: see the file comment. */
  retryDelay(minDelay) {
    const outage = this.outageSince ? Date.now() - this.outageSince : 0;
    const ceiling = Math.min(MAX_DELAY_MS, Math.max(BASE_DELAY_MS, outage * OUTAGE_FRACTION));
    return Math.max(minDelay, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  scheduleRetry(minDelay = 0) {
    const delay = this.retryDelay(minDelay);
    this.attempt++;
    this.retryAt = Date.now() + delay;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
    this.setState(navigator.onLine ? 'waiting' : 'offline');
  }

  /** A silent connection is considered dead: drop it and reconnect. */
  onDeadline() {
    console.warn('parley: the server stopped answering; reconnecting');
    const had = this.ws !== null;
    this.drop(4000, 'no answer');
    if (had || this.state === 'connecting' || this.state === 'ready') this.lost(1006, 'no answer');
  }

  /** Asks the server for a sign of life now; no answer within `ms` drops the socket. */
  probe(ms) {
    if (!this.send({ type: 'ping', nonce: this.nonce++ })) return;
    clearTimeout(this.pingTimer);
    this.armDeadline(ms);
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
