# An HTTP app that ignores SIGTERM: only SIGKILL stops it. Serves /ready,
# POST /hello and /slow?seconds=N on $PORT.
import json
import os
import signal
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

def on_sigterm(signum, frame):
    # The wall-clock time lets tests measure from the signal itself, not
    # from when its log line was read.
    print(f"SIGTERM received at {time.time():.6f}, ignoring it", flush=True)


signal.signal(signal.SIGTERM, on_sigterm)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/ready":
            self.answer(200, {"status": "ready"})
        elif u.path == "/slow":
            secs = float(parse_qs(u.query).get("seconds", ["1"])[0])
            time.sleep(secs)
            self.answer(200, {"slept_seconds": secs, "pid": os.getpid()})
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.answer(200, {"message": "Hello Cerebrium!"})


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
