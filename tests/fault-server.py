#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fault-server.py - an HTTP(S) server for the fetch tests that misbehaves on purpose.

Serves the files under --root at /MODE/PATH. catalog.json and its signature
are always served as they are; every other file gets the fault MODE names:

  ok          the file, with an ETag
  truncate    Content-Length of the whole file, half the body, then close
  stall       half the body, then nothing for --stall seconds
  reset       half the body, then a TCP reset
  404         Not Found
  500once     500 on the first request for a path, the file after
  503once     503 with Retry-After: 1 on the first request, the file after
  shortcl     a Content-Length one byte short of the body
  longcl      a Content-Length ten bytes past the body, then close
  loop        a redirect to itself, forever
  tohttp      a redirect to http://127.0.0.1:--http-port/ok/PATH
  long        the file plus extra bytes (Content-Length counts them)
  longnocl    the file plus extra bytes, no Content-Length, then close
  badsha      the file with one byte changed
  interrupt   first request: half the body, then close; later ones honour
              Range with If-Range (206), ETag stays the same
  etagchange  first request: half of *other* bytes with ETag "v1", then
              close; later ones answer with ETag "v2", so If-Range "v1" gets
              the whole file (200)

The port it listens on (127.0.0.1 only, chosen by the kernel) is written
to --port-file; one line per request goes to --log:
  MODE PATH range=RANGE if-range=VALUE -> STATUS
"""
import argparse
import os
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
SEEN = {}
LOCK = threading.Lock()


def first_time(key):
    with LOCK:
        n = SEEN.get(key, 0)
        SEEN[key] = n + 1
        return n == 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-server"

    def log_message(self, fmt, *a):
        pass

    def note(self, mode, path, status):
        line = "%s %s range=%s if-range=%s -> %s\n" % (
            mode, path, self.headers.get("Range", "-"),
            self.headers.get("If-Range", "-"), status)
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(line)

    def head(self, status, length, extra=()):
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def simple(self, status, extra=()):
        body = b"%d\n" % status
        self.head(status, len(body), extra)
        self.wfile.write(body)

    def do_GET(self):
        self.close_connection = True
        parts = self.path.split("/", 2)
        if len(parts) < 3:
            return self.simple(404)
        mode, path = parts[1], parts[2]
        if ".." in path.split("/"):
            return self.simple(403)
        full = os.path.join(ARGS.root, path)
        if not os.path.isfile(full):
            self.note(mode, path, 404)
            return self.simple(404)
        with open(full, "rb") as f:
            data = f.read()
        if os.path.basename(path).startswith("catalog.json"):
            mode = "ok"
        half = data[: len(data) // 2]
        etag = '"e-%d"' % len(data)

        if mode == "ok":
            self.note(mode, path, 200)
            self.head(200, len(data), [("ETag", etag)])
            self.wfile.write(data)
        elif mode == "truncate":
            self.note(mode, path, 200)
            self.head(200, len(data))
            self.wfile.write(half)
        elif mode == "stall":
            self.note(mode, path, 200)
            self.head(200, len(data))
            self.wfile.write(half)
            self.wfile.flush()
            time.sleep(ARGS.stall)
        elif mode == "reset":
            self.note(mode, path, 200)
            self.head(200, len(data))
            self.wfile.write(half)
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            # closed before the server's shutdown(SHUT_WR) could send a FIN:
            # the last reference going sends the reset
            self.connection.close()
        elif mode == "404":
            self.note(mode, path, 404)
            self.simple(404)
        elif mode in ("500once", "503once"):
            if first_time((mode, path)):
                status = 500 if mode == "500once" else 503
                self.note(mode, path, status)
                self.simple(status, [("Retry-After", "1")] if status == 503 else [])
            else:
                self.note(mode, path, 200)
                self.head(200, len(data))
                self.wfile.write(data)
        elif mode == "shortcl":
            self.note(mode, path, 200)
            self.head(200, len(data) - 1)
            self.wfile.write(data)
        elif mode == "longcl":
            self.note(mode, path, 200)
            self.head(200, len(data) + 10)
            self.wfile.write(data)
        elif mode == "loop":
            self.note(mode, path, 302)
            self.head(302, 0, [("Location", "/loop/" + path)])
        elif mode == "tohttp":
            self.note(mode, path, 302)
            self.head(302, 0, [("Location", "http://127.0.0.1:%d/ok/%s" % (ARGS.http_port, path))])
        elif mode == "long":
            body = data + b"X" * 4096
            self.note(mode, path, 200)
            self.head(200, len(body))
            self.wfile.write(body)
        elif mode == "longnocl":
            self.note(mode, path, 200)
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data + b"X" * 65536)
        elif mode == "badsha":
            body = bytes([data[0] ^ 1]) + data[1:] if data else data
            self.note(mode, path, 200)
            self.head(200, len(body))
            self.wfile.write(body)
        elif mode in ("interrupt", "etagchange"):
            first = first_time((mode, path))
            if mode == "etagchange":
                etag = '"v1"' if first else '"v2"'
                if first:
                    half = bytes(b ^ 0x55 for b in half)
            if first:
                self.note(mode, path, 200)
                self.head(200, len(data), [("ETag", etag)])
                self.wfile.write(half)
                return
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and self.headers.get("If-Range") == etag:
                start = int(rng[6:].split("-")[0])
                body = data[start:]
                self.note(mode, path, 206)
                self.head(206, len(body), [("ETag", etag), (
                    "Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))])
                self.wfile.write(body)
            else:
                self.note(mode, path, 200)
                self.head(200, len(data), [("ETag", etag)])
                self.wfile.write(data)
        else:
            self.note(mode, path, 400)
            self.simple(400)


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--http-port", type=int, default=9)
    p.add_argument("--stall", type=float, default=5.0)
    p.add_argument("--lifetime", type=float, default=600.0,
                   help="exit after this many seconds whatever happens")
    ARGS = p.parse_args()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if ARGS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % httpd.server_address[1])
    os.rename(tmp, ARGS.port_file)
    threading.Timer(ARGS.lifetime, lambda: os._exit(0)).start()
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
