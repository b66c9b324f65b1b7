// ws-relay: what many would pick instead. A Node.js relay with the npm
// package `ws` that broadcasts every message to every client (itself
// included). permessage-deflate off, like Parley.
//
//   node ws_relay.js PORT
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 9001);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client.readyState === 1) client.send(data, { binary: isBinary });
    }
  });
});
wss.on('listening', () => console.error(`ws-relay listening on ${port}`));
