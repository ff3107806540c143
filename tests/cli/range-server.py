#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# range-server.py - a small HTTP server for the deploy tests: serves the
# current directory on 127.0.0.1 with Range requests and an ETag, and can
# misbehave on purpose.
#   range-server.py PORTFILE [--delay S] [--corrupt OFFSET] [--ignore-range]
#                   [--cut-after BYTES]
# Writes the port it listens on to PORTFILE.
#   --delay S        sleep S seconds before each answer
#   --corrupt OFF    flip the byte at OFF of every file in what it sends
#   --ignore-range   answer 200 with the whole file
#   --cut-after N    close a response after N bytes of its body when it
#                    starts on a 4 KiB boundary (a resumed request for the
#                    rest does not, and is served in full)
import argparse, http.server, os, re, socketserver, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("portfile")
ap.add_argument("--delay", type=float, default=0)
ap.add_argument("--corrupt", type=int, default=-1)
ap.add_argument("--ignore-range", action="store_true")
ap.add_argument("--cut-after", type=int, default=0)
args = ap.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        time.sleep(args.delay)
        path = os.path.join(os.getcwd(), os.path.basename(self.path.lstrip("/")))
        try:
            data = open(path, "rb").read()
        except OSError:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end, status = 0, len(data) - 1, 200
        m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if m and not args.ignore_range:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
            status = 206
        body = bytearray(data[start:end + 1])
        if start <= args.corrupt <= end:
            body[args.corrupt - start] ^= 0xFF
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"%x"' % int(os.stat(path).st_mtime))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(data)))
        self.end_headers()
        if args.cut_after and len(body) > args.cut_after and start % 4096 == 0:
            self.wfile.write(body[:args.cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
with open(args.portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(args.portfile + ".tmp", args.portfile)
srv.serve_forever()
