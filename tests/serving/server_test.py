"""plotforge-run serve against real clients: the official `openai` client,
raw HTTP (urllib, sockets) and curl, on a real server process bound to an
ephemeral loopback port. Run by CTest (tests/CMakeLists.txt) with
PLOTFORGE_RUN (the binary) and SERVING_BUNDLE (from make_bundle.sh)."""
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import openai
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(__file__))
from server_process import ServerProcess  # noqa: E402

BIN = os.environ["PLOTFORGE_RUN"]
BUNDLE = os.environ["SERVING_BUNDLE"]


def post(url, body, headers=None, timeout=60):
    """(status, headers, parsed JSON or text) of a POST with a raw body."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + "/v1/completions", data=data, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, text = r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, dict(e.headers), e.read().decode()
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def metrics(server):
    status, text = server.get("/metrics")
    assert status == 200, status
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = s.name + ("{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}" if s.labels else "")
            out[key] = s.value
    return out


def completion_requests_counted(m):
    return sum(v for k, v in m.items()
               if k.startswith("plotforge:request_success_total") or k.startswith("plotforge:request_failure_total"))


def stream_raw(url, body, read_tokens=None, started=None):
    """Streams over a plain socket; returns the SSE data payloads. With
    read_tokens, closes the connection after that many token chunks; with
    started (a threading.Event), sets it when the first event arrives."""
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    payload = json.dumps(dict(body, stream=True)).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    buf, events = b"", []
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if line.startswith(b"data: "):
                    events.append(line[6:].decode())
                    if started is not None:
                        started.set()
        if read_tokens is not None and len([e for e in events if e != "[DONE]"]) >= read_tokens:
            s.close()
            return events
        if events and events[-1] == "[DONE]":
            break
    s.close()
    return events


class OpenAIClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess(BIN, BUNDLE)
        cls.client = openai.OpenAI(base_url=cls.server.url + "/v1", api_key="unused", max_retries=0)
        cls.sent = 0

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0, cls.server.stderr()

    def create(self, **kw):
        type(self).sent += 1
        return self.client.completions.create(model=self.server.name, **kw)

    def test_models_lists_the_bundle(self):
        models = self.client.models.list()
        self.assertEqual([m.id for m in models.data], [self.server.name])

    def test_completion_and_its_stream_agree(self):
        kw = dict(prompt="INT. CASTLE - NIGHT\n\nHAMLET", max_tokens=30, temperature=0)
        whole = self.create(**kw)
        self.assertEqual(whole.object, "text_completion")
        self.assertEqual(len(whole.choices), 1)
        self.assertIn(whole.choices[0].finish_reason, ("stop", "length"))
        self.assertGreater(whole.usage.prompt_tokens, 0)
        self.assertEqual(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens)
        chunks = list(self.create(stream=True, stream_options={"include_usage": True}, **kw))
        text = "".join(c.choices[0].text for c in chunks if c.choices)
        self.assertEqual(text, whole.choices[0].text)
        finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        self.assertEqual(finals, [whole.choices[0].finish_reason])
        self.assertEqual(chunks[-1].choices, [])
        self.assertEqual(chunks[-1].usage.completion_tokens, whole.usage.completion_tokens)
        # One chunk per generated token, plus the finish chunk and the usage chunk.
        self.assertEqual(len(chunks), whole.usage.completion_tokens + 2)

    def test_n_choices_and_logprobs(self):
        out = self.create(prompt="ACT I", max_tokens=12, n=3, logprobs=2, seed=5, temperature=1.0, extra_body={"ignore_eos": True})
        self.assertEqual(sorted(c.index for c in out.choices), [0, 1, 2])
        self.assertEqual(out.usage.completion_tokens, 36)
        for c in out.choices:
            lp = c.logprobs
            self.assertEqual(len(lp.token_logprobs), 12)
            self.assertEqual(len(lp.tokens), 12)
            self.assertTrue(all(x <= 0 for x in lp.token_logprobs))
            self.assertTrue(all(1 <= len(t) <= 2 for t in lp.top_logprobs))
            self.assertEqual("".join(lp.tokens), c.text)
            self.assertEqual(lp.text_offset[0], 0)
        # Branch i samples with seed + i: the three differ.
        self.assertEqual(len({c.text for c in out.choices}), 3)

    def test_stop_string_ends_the_text_before_it(self):
        free = self.create(prompt="HAMLET", max_tokens=40, temperature=0, extra_body={"ignore_eos": True}).choices[0].text
        self.assertGreater(len(free), 12, free)
        stop = free[6:10]
        cut = free[:free.index(stop)]
        out = self.create(prompt="HAMLET", max_tokens=40, temperature=0, extra_body={"ignore_eos": True}, stop=[stop, "\x01never"])
        self.assertEqual(out.choices[0].text, cut)
        self.assertEqual(out.choices[0].finish_reason, "stop")
        streamed = "".join(c.choices[0].text for c in self.create(
            prompt="HAMLET", max_tokens=40, temperature=0, extra_body={"ignore_eos": True}, stop=stop, stream=True) if c.choices)
        self.assertEqual(streamed, cut)

    def test_same_seed_same_text(self):
        kw = dict(prompt="INT. HALL", max_tokens=25, temperature=1.0, top_p=0.95, extra_body={"ignore_eos": True})
        a = self.create(seed=42, **kw).choices[0].text
        b = self.create(seed=42, **kw).choices[0].text
        c = self.create(seed=43, **kw).choices[0].text
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)

    def test_story_controls_in_extra_body(self):
        out = self.create(prompt="", max_tokens=10, temperature=0,
                          extra_body={"genre": "tragedy", "beat": "climax", "emotion": "fear"})
        self.assertEqual(len(out.choices), 1)
        # The controls are prompt tokens: the usage counts them.
        self.assertGreaterEqual(out.usage.prompt_tokens, 3)
        with self.assertRaises(openai.BadRequestError) as e:
            self.create(prompt="x", max_tokens=4, extra_body={"genre": "space_opera"})
        self.assertEqual(e.exception.body["param"], "genre")
        self.assertIn("tragedy", e.exception.body["message"])

    def test_echo_and_token_prompts(self):
        out = self.create(prompt="HAMLET", max_tokens=5, temperature=0, echo=True)
        self.assertTrue(out.choices[0].text.startswith("HAMLET"))
        ids = self.create(prompt=[[5, 6, 7], [8, 9]], max_tokens=4, temperature=0, n=2)
        self.assertEqual(sorted(c.index for c in ids.choices), [0, 1, 2, 3])
        self.assertEqual(ids.usage.prompt_tokens, 5)

    def test_zz_metrics_count_every_request(self):
        m = metrics(self.server)
        self.assertEqual(completion_requests_counted(m), type(self).sent)
        self.assertGreater(m["plotforge:generation_tokens_total"], 0)
        # A prompt's request that ends at once (EOS first) has no first token.
        self.assertGreater(m["plotforge:time_to_first_token_seconds_count"], 0)
        self.assertLessEqual(m["plotforge:time_to_first_token_seconds_count"],
                             m["plotforge:e2e_request_latency_seconds_count"])
        self.assertEqual(m["plotforge:num_requests_running"], 0)
        self.assertEqual(m["plotforge:kv_cache_usage_perc"], 0)


class Batching(unittest.TestCase):
    def test_concurrent_greedy_streams_equal_one_at_a_time(self):
        server = ServerProcess(BIN, BUNDLE)
        try:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
            prompts = ["SCENE %d\n\nHAMLET" % i if i % 2 else "INT. ROOM %d" % i for i in range(32)]

            def run(p):
                return "".join(c.choices[0].text for c in client.completions.create(
                    model=server.name, prompt=p, max_tokens=24, temperature=0, stream=True) if c.choices)

            alone = [run(p) for p in prompts]
            with concurrent.futures.ThreadPoolExecutor(32) as pool:
                together = list(pool.map(run, prompts))
            self.assertEqual(together, alone)
        finally:
            self.assertEqual(server.stop(), 0, server.stderr())


class Overload(unittest.TestCase):
    def test_a_burst_beyond_the_queue_gets_429_and_the_server_recovers(self):
        server = ServerProcess(BIN, BUNDLE, "--max-queue", "4", "--max-running", "2")
        try:
            body = {"prompt": "HAMLET", "max_tokens": 100, "temperature": 0, "ignore_eos": True}
            with concurrent.futures.ThreadPoolExecutor(64) as pool:
                results = list(pool.map(lambda _: post(server.url, body), range(64)))
            statuses = [r[0] for r in results]
            self.assertEqual(set(statuses) - {200, 429}, set(), statuses)
            self.assertGreater(statuses.count(429), 0)
            self.assertGreaterEqual(statuses.count(200), 6)  # 2 running + 4 queued at least
            for status, headers, b in results:
                if status == 429:
                    self.assertEqual(headers.get("Retry-After"), "1")
                    self.assertEqual(b["error"]["type"], "rate_limit_error")
            self.assertEqual(server.get("/health")[0], 200)
            status, _, b = post(server.url, {"prompt": "HAMLET", "max_tokens": 5})
            self.assertEqual(status, 200, b)
            m = metrics(server)
            self.assertEqual(m['plotforge:request_failure_total{reason=queue_full}'], statuses.count(429))
            self.assertEqual(completion_requests_counted(m), 65)
        finally:
            self.assertEqual(server.stop(), 0, server.stderr())


class Disconnect(unittest.TestCase):
    def test_a_dropped_stream_leaves_the_batch_and_frees_its_blocks(self):
        # 8 branches of 120 tokens take the tiny model ~0.1 s; a client
        # descheduled that long on a loaded machine leaves after the request
        # has finished, and then there is no disconnect to see. Such an
        # attempt (all 960 tokens generated, nothing counted) is tried again;
        # five in a row would mean the server never notices a dropped client.
        server = ServerProcess(BIN, BUNDLE)
        try:
            body = {"prompt": "HAMLET", "max_tokens": 120, "n": 8, "temperature": 1.0, "ignore_eos": True}
            before = metrics(server)
            for attempt in range(5):
                events = stream_raw(server.url, body, read_tokens=5)
                self.assertGreaterEqual(len(events), 5)
                # The gauges are published after each engine step, so right
                # after the first tokens they can still show the idle engine
                # from before the request; the end-to-end latency count says
                # the engine has finished with the request (run out or
                # cancelled), and the gauges published after that are its.
                t0 = time.time()
                ended = "plotforge:e2e_request_latency_seconds_count"
                while True:
                    m = metrics(server)
                    if (m[ended] > before[ended] and m["plotforge:num_requests_running"] == 0 and
                            m["plotforge:kv_cache_usage_perc"] == 0):
                        break
                    self.assertLess(time.time() - t0, 1.0, "still running a second after the client left: %s" % m)
                    time.sleep(0.02)
                generated = m["plotforge:generation_tokens_total"] - before["plotforge:generation_tokens_total"]
                dropped = (m["plotforge:request_failure_total{reason=disconnected}"] -
                           before["plotforge:request_failure_total{reason=disconnected}"])
                before = m
                if dropped == 0 and generated == 960:
                    continue  # finished before the client left
                self.assertEqual(dropped, 1, m)
                # It stopped early: all 8 branches of 120 tokens would be 960.
                self.assertLess(generated, 960)
                break
            else:
                self.fail("five streams dropped after 5 tokens all ran to the end: %s" % m)
        finally:
            self.assertEqual(server.stop(), 0, server.stderr())


class BadInput(unittest.TestCase):
    CASES = [
        (b"{not json", 400, None),
        (b"", 400, None),
        (b"[1, 2]", 400, None),
        (b'{"prompt": "x", "max_tokens": "5"}', 400, "max_tokens"),
        (b'{"prompt": "x", "max_tokens": -1}', 400, "max_tokens"),
        (b'{"prompt": "x", "max_tokens": 1e30}', 400, "max_tokens"),
        (b'{"prompt": "x", "max_tokens": 99999999999999999999999}', 400, "max_tokens"),
        (b'{"prompt": "x", "n": 1000000}', 400, "n"),
        (b'{"prompt": "x", "temperature": "hot"}', 400, "temperature"),
        (b'{"prompt": "x", "temperature": 1e308}', 400, "temperature"),
        (b'{"prompt": "x", "top_p": 0}', 400, "top_p"),
        (b'{"prompt": "x", "stream": "yes"}', 400, "stream"),
        (b'{"prompt": "x", "stop": [1]}', 400, "stop[0]"),
        (b'{"prompt": 5}', 400, "prompt"),
        (b'{"prompt": [1, -4]}', 400, "prompt[1]"),
        (b'{"prompt": [1, 99999999]}', 400, "prompt[1]"),
        (b'{"max_tokens": 3}', 400, "prompt"),
        (b'{"prompt": "x", "temprature": 0.5}', 400, "temprature"),
        (b'{"prompt": "x", "genre": "space_opera"}', 400, "genre"),
        (b'{"prompt": "x", "beat": 3}', 400, "beat"),
        (b'{"prompt": "x", "model": "gpt-4"}', 404, "model"),
        (b'{"prompt": "\xff\xfe bad utf-8"}', 400, None),
        (b'{"prompt": "' + b"HAMLET " * 400 + b'"}', 400, "prompt"),
        (b'{"prompt": "x", "logprobs": 99}', 400, "logprobs"),
        (b'{"prompt": "x", "seed": -3}', 400, "seed"),
    ]

    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess(BIN, BUNDLE, "--max-body-bytes", "65536")

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0, cls.server.stderr()

    def test_each_gets_its_4xx_naming_the_field(self):
        for body, status, param in self.CASES:
            with self.subTest(body=body[:60]):
                got, _, b = post(self.server.url, body)
                self.assertEqual(got, status, b)
                self.assertIsInstance(b, dict, b)
                self.assertEqual(set(b["error"]), {"message", "type", "param", "code"})
                self.assertEqual(b["error"]["param"], param, b)
                self.assertEqual(self.server.get("/health")[0], 200)

    def test_a_10_mb_body_gets_413(self):
        with tempfile.NamedTemporaryFile() as f:
            f.write(b'{"prompt": "' + b"x" * (10 << 20) + b'"}')
            f.flush()
            out = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-H",
                                  "Content-Type: application/json", "--data-binary", "@" + f.name,
                                  self.server.url + "/v1/completions"], capture_output=True, text=True, timeout=60)
        body, code = out.stdout.rsplit("\n", 1)
        self.assertEqual(code, "413", out)
        self.assertEqual(json.loads(body)["error"]["type"], "invalid_request_error")
        self.assertEqual(self.server.get("/health")[0], 200)

    def test_unknown_route_is_a_404_in_openai_form(self):
        status, body = self.server.get("/v1/chat/nothing")
        self.assertEqual(status, 404)
        self.assertIn("docs/serving.md", json.loads(body)["error"]["message"])


class Auth(unittest.TestCase):
    def test_no_key_wrong_key_right_key(self):
        with tempfile.NamedTemporaryFile("w", suffix=".key") as f:
            f.write("s3cret-key\n")
            f.flush()
            server = ServerProcess(BIN, BUNDLE, "--api-key-file", f.name)
        try:
            body = {"prompt": "x", "max_tokens": 2}
            status, _, b = post(server.url, body)
            self.assertEqual(status, 401)
            self.assertEqual(b["error"]["type"], "authentication_error")
            status, _, b = post(server.url, body, {"Authorization": "Bearer s3cret-kez"})
            self.assertEqual(status, 401)
            status, _, b = post(server.url, body, {"Authorization": "Bearer s3cret-key"})
            self.assertEqual(status, 200, b)
            with self.assertRaises(openai.AuthenticationError):
                openai.OpenAI(base_url=server.url + "/v1", api_key="nope", max_retries=0).models.list()
            ok = openai.OpenAI(base_url=server.url + "/v1", api_key="s3cret-key", max_retries=0)
            self.assertEqual(len(ok.completions.create(model=server.name, prompt="x", max_tokens=2).choices), 1)
            self.assertEqual(server.get("/health")[0], 200)
            self.assertEqual(server.get("/metrics")[0], 200)
            m = metrics(server)
            self.assertEqual(m["plotforge:request_failure_total{reason=unauthorized}"], 2)
        finally:
            self.assertEqual(server.stop(), 0, server.stderr())
        self.assertNotIn("s3cret", server.stderr())


class Shutdown(unittest.TestCase):
    def stream_through_sigterm(self, body, *flags):
        """The finish reasons of a stream that SIGTERM interrupts; the server must exit 0."""
        server = ServerProcess(BIN, BUNDLE, *flags)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = threading.Event()
            fut = pool.submit(stream_raw, server.url, body, None, started)
            # SIGTERM once the stream is running (its first event is here),
            # not after a fixed sleep that a loaded machine can outlast.
            self.assertTrue(started.wait(60), "the stream never started")
            self.assertEqual(server.stop(), 0, server.stderr())
            events = fut.result(60)
        self.assertEqual(events[-1], "[DONE]")
        return [json.loads(e)["choices"][0]["finish_reason"] for e in events[:-1]
                if json.loads(e)["choices"][0]["finish_reason"]]

    def test_sigterm_lets_a_running_stream_finish(self):
        finals = self.stream_through_sigterm({"prompt": "HAMLET", "max_tokens": 100, "n": 4, "ignore_eos": True})
        self.assertEqual(finals, ["length"] * 4)

    def test_past_the_deadline_requests_end_with_abort(self):
        finals = self.stream_through_sigterm({"prompt": "HAMLET", "max_tokens": 120, "n": 16, "ignore_eos": True},
                                             "--shutdown-timeout", "0")
        self.assertEqual(len(finals), 16)
        self.assertIn("abort", finals)


if __name__ == "__main__":
    unittest.main(verbosity=2)
