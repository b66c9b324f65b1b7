// Pacing: token buckets for the rate limits the server announces in `welcome`.
//
// The client paces itself instead of learning the limits from refusals. Until
// a welcome arrives (or for kinds it does not name) nothing is paced.

export class Pacer {
  constructor() {
    this.byKind = new Map(); // kind byte -> bucket
  }

  /** @param limits welcome.rate_limits: [{kinds, per_minute, burst}] */
  configure(limits) {
    const now = performance.now();
    this.byKind.clear();
    for (const l of limits ?? []) {
      if (!(l.per_minute > 0) || !(l.burst > 0)) continue;
      const bucket = { rate: l.per_minute / 60000, burst: l.burst, tokens: l.burst, at: now };
      for (const k of l.kinds) this.byKind.set(k, bucket);
    }
  }

  /** Takes a token for a packet kind; returns 0, or the ms to wait for one. */
  take(kind) {
    const b = this.byKind.get(kind);
    if (!b) return 0;
    const now = performance.now();
    b.tokens = Math.min(b.burst, b.tokens + (now - b.at) * b.rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / b.rate);
  }
}
