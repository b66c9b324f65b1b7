// Waiting for an event: a promise for the next matching event of an
// EventTarget that never hangs, because a timeout or an AbortSignal ends it.

/**
 * Resolves with the next `type` event of `target` for which `filter(event)`
 * is true, or with null once `timeout` ms have passed or `signal` aborts.
 * The listener, the timer and the abort hook are removed in every case.
 * @param timeout ms; required, so no caller can wait for ever
 */
export function nextEvent(target, type, { filter = () => true, signal, timeout }) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(null);
    const stop = new AbortController();
    const finish = (value) => {
      stop.abort();
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => finish(null), timeout);
    target.addEventListener(type, (e) => filter(e) && finish(e), { signal: stop.signal });
    signal?.addEventListener('abort', () => finish(null), { signal: stop.signal });
    return undefined;
  });
}
