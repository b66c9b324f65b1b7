// A second connection of a signed-in person, speaking the protocol through
// the same wasm module the client uses: another device of theirs, for the
// steps a test needs done outside the page's own client.

/**
 * Opens a WebSocket of `person` (with their session cookie) in a tab of its
 * own, so that what the person's page does (reloads, navigation) leaves it
 * alone, and waits for its welcome.
 * @param url the server's URL
 * @return {send(packet), request(packet, type), join(room), manage(roomId, fields), close()}
 */
export async function wire(person, url) {
  const page = await person.context.newPage();
  await page.goto(`${url}/api/me`);
  await page.evaluate(async () => {
    window.__wire?.ws.close();
    const { loadParley } = await import('/wasm/parley.js');
    const parley = await loadParley();
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.binaryType = 'arraybuffer';
    const w = { parley, ws, packets: [] };
    window.__wire = w;
    ws.onmessage = (ev) => w.packets.push(...parley.decode(new Uint8Array(ev.data)));
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no welcome within 10 s')), 10000);
      const poll = () => (w.packets.some((p) => p.type === 'welcome') ? (clearTimeout(timer), resolve()) : setTimeout(poll, 20));
      ws.onerror = () => reject(new Error('the wire socket failed'));
      poll();
    });
  });
  const send = (packet) => page.evaluate((p) => window.__wire.ws.send(window.__wire.parley.encode(p)), packet);
  /** Sends `packet` and resolves with the first `type` packet (or error_report) received after it. */
  const request = async (packet, type) => {
    const from = await page.evaluate(() => window.__wire.packets.length);
    await send(packet);
    const handle = await page.waitForFunction(({ from, type }) => {
      const hit = window.__wire.packets.slice(from).find((p) => p.type === type || p.type === 'error_report');
      return hit ?? null;
    }, { from, type }, { timeout: 10000 });
    const answer = await handle.jsonValue();
    if (answer.type === 'error_report') throw new Error(`${packet.type} refused: ${answer.code} ${answer.text}`);
    return answer;
  };
  return {
    send,
    request,
    join: (room) => request({ type: 'join_room', room, epoch: 0, since_seq: 0 }, 'room_joined'),
    /** A manage_room on a room joined on this socket; resolves with its ack. */
    manage: (roomId, fields) => request({
      type: 'manage_room', room_id: roomId, client_id: Math.floor(Math.random() * 2 ** 52) + 1, user_id: 0,
      role: 'member', room_type: 'public', text: '', resend: false, ...fields,
    }, 'ack'),
    close: () => page.close(),
  };
}

/** The id of a signed-in page's user, from /api/me. */
export function userId(page) {
  return page.evaluate(async () => (await (await fetch('/api/me')).json()).id);
}
