#!/usr/bin/env python3
"""What TLS costs an idle connection: N signed-in WebSockets held open
against a server without TLS, then against one with a self-signed ECDSA P-256
certificate (same binary, one event loop), and the server's resident memory
growth per connection in each (VmRSS before and after, 5 s after the last
connection).

    usage: tls_idle.py PARLEY_BINARY [N]     (N: 2000 by default)
"""
import base64
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def run(binary, n, tls):
    d = tempfile.mkdtemp(prefix="parley-tls-idle-")
    try:
        args = [binary, "--listen", "127.0.0.1:0", "--data-dir", d, "--password-cost", "min", "--threads", "1",
                "--max-connections-per-address", "0", "--auth-rate", "1000/1000", "--idle-timeout", "600"]
        ctx = None
        if tls:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", d + "/k", "-out", d + "/c"], check=True, capture_output=True)
            args += ["--tls-cert", d + "/c", "--tls-key", d + "/k", "--max-tls-handshakes-per-address", "100000"]
            ctx = ssl.create_default_context(cafile=d + "/c")
        log = open(d + "/log", "w+")
        server = subprocess.Popen(args, stderr=log)
        port = None
        for _ in range(200):
            log.seek(0)
            m = re.search(r"listening on https?://127\.0\.0\.1:(\d+)|listening\b.*\bport=(\d+)", log.read())
            if m:
                port = int(m.group(1) or m.group(2))
                break
            time.sleep(0.05)
        if port is None:
            sys.exit("parley did not start")

        def connect():
            s = socket.create_connection(("127.0.0.1", port))
            return ctx.wrap_socket(s, server_hostname="127.0.0.1") if ctx else s

        def read_head(s):
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            return data

        body = json.dumps({"username": "idle", "password": "correct horse"}).encode()
        s = connect()
        s.sendall(b"POST /api/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        head = read_head(s)
        length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
        rest = head.partition(b"\r\n\r\n")[2]
        while len(rest) < length:
            rest += s.recv(65536)
        s.close()
        token = json.loads(rest)["token"]
        time.sleep(1)
        before = rss_kib(server.pid)
        held = []
        for _ in range(n):
            s = connect()
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                       f"Cookie: parley_session={token}\r\n\r\n").encode())
            if b" 101 " not in read_head(s).split(b"\r\n")[0]:
                sys.exit("an upgrade was refused")
            held.append(s)
        time.sleep(5)
        after = rss_kib(server.pid)
        server.terminate()
        server.wait()
        for s in held:
            s.close()
        return (after - before) / n
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    n = int(sys.argv[2]) if len(sys.argv) == 3 else 2000
    plain = run(sys.argv[1], n, False)
    tls = run(sys.argv[1], n, True)
    print(f"{n} idle signed-in WebSockets: {plain:.2f} KiB each without TLS, {tls:.2f} KiB with TLS "
          f"(+{tls - plain:.2f} KiB, {tls / plain:.1f}x)")


if __name__ == "__main__":
    main()
