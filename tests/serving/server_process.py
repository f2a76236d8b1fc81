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
import urllib.request


class ServerProcess:
    def __init__(self, binary, bundle, *flags, startup_timeout=120):
        self.log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
        atexit.register(os.unlink, self.log.name)
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

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise RuntimeError("the server did not exit within %d s of SIGTERM" % timeout)
