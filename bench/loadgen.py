"""What the load generators share (bench/serving_load.py, bench/stories_load.py):
percentiles, and running clients on threads with their errors collected."""
import threading
import time


def percentile(xs, p):
    """The p-th percentile, linearly interpolated; NaN for no values."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run_clients(n, client):
    """Runs client(i) for i in range(n) on n threads at once; returns (wall
    seconds, [repr of each exception a client raised]): errors are reported,
    never hidden."""
    errors, lock = [], threading.Lock()

    def guarded(i):
        try:
            client(i)
        except Exception as e:
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, errors
