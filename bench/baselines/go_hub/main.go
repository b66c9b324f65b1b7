// go-hub: the Go server a chat developer would write, after gorilla/websocket's
// own chat example: one hub goroutine owns the set of clients and receives
// register, unregister and broadcast requests on channels; every client has a
// read pump, a write pump and a buffered send channel; the hub broadcasts every
// message to every client, the sender included.
//
//	go-hub PORT            (GOMAXPROCS chooses how many cores it uses)
//
// FRAMING. The example joins the messages queued behind the first into one
// text frame, separated by newlines. The load generator's stamps are binary
// (any byte may be a newline), so here each message is length-prefixed
// instead: every binary frame the hub writes holds one or more messages, each
// after its length as 4 bytes little-endian (parley-loadgen --length-prefixed
// reads that). The prefix is added once per broadcast, in the sender's read
// pump, and every client's queue holds that same slice; a write pump joins
// what is queued into one message and so one write, as the example does.
//
// SLOW CLIENTS. As in the example, a client whose send channel (256 messages)
// is full when a broadcast comes is dropped: its channel is closed and the
// write pump sends a close frame. The hub counts those drops and prints the
// total on SIGTERM or SIGINT ("go-hub: dropped N clients ..."), so a benchmark
// can say how often it happened.
package main

import (
	"encoding/binary"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const (
	writeWait      = 10 * time.Second    // time allowed to write a message to the peer
	pongWait       = 60 * time.Second    // time allowed to read the next pong
	pingPeriod     = (pongWait * 9) / 10 // pings go out this often; must be less than pongWait
	maxMessageSize = 4096                // the example's 512 is too small for --text-bytes up to 4,000
	sendQueue      = 256                 // messages queued per client before it is dropped (the example's)
	prefixBytes    = 4
)

// The example's read buffer; the write buffer is gorilla's default size
// (4 KiB) instead of the example's 1 KiB, so that a full queue of small
// messages goes out in few frames rather than in 1 KiB fragments.
var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 4096,
}

var (
	dropped  atomic.Int64 // clients dropped because their send channel was full
	accepted atomic.Int64 // connections upgraded
)

// hub maintains the set of active clients and broadcasts messages to them.
type hub struct {
	clients    map[*client]bool
	broadcast  chan []byte
	register   chan *client
	unregister chan *client
}

func newHub() *hub {
	return &hub{
		clients:    make(map[*client]bool),
		broadcast:  make(chan []byte),
		register:   make(chan *client),
		unregister: make(chan *client),
	}
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
		case c := <-h.unregister:
			if _, ok := h.clients[c]; ok {
				delete(h.clients, c)
				close(c.send)
			}
		case message := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- message:
				default:
					close(c.send)
					delete(h.clients, c)
					dropped.Add(1)
				}
			}
		}
	}
}

// client is a middleman between one websocket connection and the hub.
type client struct {
	hub  *hub
	conn *websocket.Conn
	send chan []byte // length-prefixed messages
}

// readPump hands every message of the connection, length-prefixed, to the
// hub. It is the connection's only reader.
func (c *client) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	c.conn.SetReadLimit(maxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error { c.conn.SetReadDeadline(time.Now().Add(pongWait)); return nil })
	for {
		_, message, err := c.conn.ReadMessage()
		if err != nil {
			if websocket.IsUnexpectedCloseError(err, websocket.CloseGoingAway, websocket.CloseAbnormalClosure) {
				log.Printf("error: %v", err)
			}
			return
		}
		framed := make([]byte, prefixBytes+len(message))
		binary.LittleEndian.PutUint32(framed, uint32(len(message)))
		copy(framed[prefixBytes:], message)
		c.hub.broadcast <- framed
	}
}

// writePump writes what the hub queues, everything queued at the time joined
// into one binary message, and pings the peer. It is the connection's only
// writer.
func (c *client) writePump() {
	ticker := time.NewTicker(pingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case message, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if !ok {
				// The hub closed the channel.
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			w, err := c.conn.NextWriter(websocket.BinaryMessage)
			if err != nil {
				return
			}
			w.Write(message)
			// Add the messages queued meanwhile to the current websocket message.
			n := len(c.send)
			for i := 0; i < n; i++ {
				w.Write(<-c.send)
			}
			if err := w.Close(); err != nil {
				return
			}
		case <-ticker.C:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

// serveWs upgrades any request to a WebSocket and starts the client's pumps.
func serveWs(h *hub, w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		log.Println(err)
		return
	}
	accepted.Add(1)
	c := &client{hub: h, conn: conn, send: make(chan []byte, sendQueue)}
	c.hub.register <- c
	go c.writePump()
	go c.readPump()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go-hub PORT\nexample: GOMAXPROCS=1 go-hub 9004")
		os.Exit(2)
	}
	addr := "127.0.0.1:" + os.Args[1]
	h := newHub()
	go h.run()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		fmt.Fprintf(os.Stderr, "go-hub: dropped %d clients with a full send queue (of %d connections)\n",
			dropped.Load(), accepted.Load())
		os.Exit(0)
	}()

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { serveWs(h, w, r) })
	fmt.Fprintf(os.Stderr, "go-hub listening on %s with GOMAXPROCS=%d\n", addr, runtime.GOMAXPROCS(0))
	log.Fatal(http.ListenAndServe(addr, nil))
}
