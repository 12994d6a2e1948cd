#!/usr/bin/env python3
"""A model of N watches reconnecting after an API server restart, for the choice of the
watch's backoff (Sources/KubeClient/NodeWatcher.swift): every watch drops at t = 0, each
agent retries after its backoff wait until the server is back (DOWN s, plus up to 0.5 s),
and the first attempt after that is its re-watch. Printed: the peak of re-watches in any
1 s window (mean, 90th percentile and max over TRIALS restarts) against N/5, and the
latest re-watch. Nothing but arithmetic: the storms bench (bench/storms.py) measures the
real agents.

usage: reconnect_model.py [--down 10] [--trials 400]
"""
import argparse
import random
import statistics


def full_jitter(growth: float, cap: float = 30.0):
    """RetryBackoff's `.full` spread: period base × growth^(n-1), capped, waited from a
    tenth of it to all of it."""
    return lambda failures: (lambda p: p / 10 + 0.9 * p * random.random())(min(cap, growth ** (failures - 1)))


def client_go(failures: int) -> float:
    """client-go's reflector: 800 ms doubling to 30 s, jitter 1.0 (d + rand × d)."""
    d = min(0.8 * 2 ** (failures - 1), 30.0)
    return d + d * random.random()


SCHEMES = {"tripling, full jitter (the agent)": full_jitter(3), "doubling, full jitter": full_jitter(2),
           "client-go reflector": client_go}


def restart(wait, agents: int, down: float) -> tuple[int, float]:
    up = down + random.uniform(0, 0.5)
    back = []
    for _ in range(agents):
        t, failures = 0.0, 0
        while t < up:
            failures += 1
            t += wait(failures)
        back.append(t)
    back.sort()
    peak, first = 0, 0
    for last, at in enumerate(back):
        while at - back[first] > 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak, back[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--down", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=400)
    args = parser.parse_args()
    random.seed(1)
    for name, wait in SCHEMES.items():
        for agents in (10, 50, 100, 200):
            runs = [restart(wait, agents, args.down) for _ in range(args.trials)]
            peaks = sorted(p for p, _ in runs)
            print(f"{name:35} N = {agents:3}: peak re-watches in 1 s mean {statistics.mean(peaks):5.1f} "
                  f"({statistics.mean(peaks) / agents:.2f} N), p90 {peaks[int(0.9 * len(peaks))]:3}, "
                  f"max {peaks[-1]:3}, N/5 = {agents / 5:g}; last back {max(b for _, b in runs):4.1f} s")


if __name__ == "__main__":
    main()
