"""A real `plotforge-run serve` process on an ephemeral loopback port, for tests
and the load generator. Start it with ServerProcess(binary, bundle, *flags);
`url` is set once the server prints that it serves; stop() sends SIGTERM and
returns the exit code."""
import atexit
import os
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request


class ServerProcess:
    def __init__(self, binary, bundle, *flags, startup_timeout=120):
        self.log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
        atexit.register(os.unlink, self.log.name)
        if "--db" not in flags:  # a story database of its own, not one in the working directory
            self.dbdir = tempfile.TemporaryDirectory(prefix="serve-db-")
            flags = flags + ("--db", os.path.join(self.dbdir.name, "stories.db"))
        self.proc = subprocess.Popen(
            [binary, "serve", "--bundle", bundle, "--port", "0", *flags],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.url = None
        line = [None]

        def read_first_line():
            line[0] = self.proc.stdout.readline()

        reader = threading.Thread(target=read_first_line, daemon=True)
        reader.start()
        reader.join(startup_timeout)
        if not line[0] or " at http" not in line[0]:
            self.proc.kill()
            raise RuntimeError("the server did not start: %r\n%s" % (line[0], self.stderr()))
        self.url = line[0].strip().rsplit(" at ", 1)[1]
        self.name = line[0].split("'")[1]

    def stderr(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def get(self, path, headers=None):
        """(status, body text) of a GET."""
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def kill(self):
        """SIGKILL: no shutdown at all, as in a crash."""
        self.proc.kill()
        self.proc.wait(30)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """(status, parsed JSON or text) of a request with a JSON body."""
        import json
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise RuntimeError("the server did not exit within %d s of SIGTERM" % timeout)
