// socketio-relay: what a chat developer in Node.js would most likely pick.
// A Socket.IO 4.8 server on the WebSocket transport only (no long-polling,
// so no upgrade dance), permessage-deflate off like Parley, that re-emits
// every "m" event to every connected client, the sender included
// (`io.emit`), the way Socket.IO's own chat example does. The payload is
// whatever the client sent (parley-loadgen --socketio sends one string).
//
//   node socketio_relay.js PORT
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? 9003);
const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
});
io.on('connection', (socket) => {
  socket.on('m', (text) => io.emit('m', text));
});
httpServer.listen(port, '127.0.0.1', () => console.error(`socketio-relay listening on ${port}`));
