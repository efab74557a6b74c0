"""Where a child runs: which CPU it keeps to, and whether a woken task preempts it.

Linux only; elsewhere (or where a seccomp profile forbids it) a child stays as
started. The parent keeps the policy and CPUs it was started with; only children
change theirs, before they start any thread (threads inherit both).
"""

from __future__ import annotations

import contextlib
import os


def no_wakeup_preemption() -> None:
    """Run this process as SCHED_BATCH: a task woken on its CPU waits for the running
    task's time slice to end rather than preempting it. Only wake-up preemption
    changes: a woken task still gets an idle CPU at once, and its fair share of a busy
    one.

    prefork: dozens of children share a few CPUs, and at saturation each new connection
    woke an idle child that preempted the child running, often in the middle of its
    request. Measured with the yield of ``prefork.child_main`` in place (40 children,
    2 CPUs, ``wrk -c16`` with Connection: close, 5 interleaved rounds, the medians):
    SCHED_OTHER 22.8k req/s, p99 2.84 ms (at most 6.08); SCHED_BATCH 24.5k req/s, p99
    1.30 ms (at most 1.56). Keep-alive is not changed by it beyond the noise (63-70k
    req/s), nor is a request's latency while other children burn CPU (a 20 ms CPU
    request on 4 connections: p99 1.6-2.4 ms either way).

    Not used by worker and winnt. For a child kept to one CPU (``keep_to_one_cpu``) it
    looked right: its threads share that CPU and one GIL, and a thread woken by its
    connection's data preempts the thread holding the GIL only to wait for it (``perf
    stat`` on a child: 4.7 futex calls and 4.6 context switches per request, 0.4 and
    1.2 as SCHED_BATCH). It served more (2 children x 32 threads, 2 CPUs, alternating
    rounds, medians: ``wrk -c16`` keep-alive 70.6k against 64.2k req/s and 68.4k
    against 58.6k, Connection: close 21.9k against 18.0k), but at ``wrk -c64`` its p99
    rose from 7 ms to 41 ms (5 rounds, up to 71 ms). ``perf sched latency``: wrk, a
    normal task on the same CPUs, waited up to 67 ms for a CPU (13 ms beside a child
    of the default policy) and switched 590 times in 2 s instead of 43,863. A child
    whose threads always have a request ready holds its CPU for whole time slices, and
    a proxy or database on the same machine would wait as wrk did.

    Measured again on kernel 6.18 (``chrt -b -a`` on the running children, 2 x 32
    threads, alternating): involuntary switches fell from 0.7-0.95 per request to
    0.07 (voluntary stayed at 1.2), and req/s rose by a median of 14 % against
    uvicorn in 12 paired ``wrk -c16`` rounds. In 6 more of each, ``wrk --latency``:
    c16 57.9k against 51.2k req/s but p99 2.8 ms against 1.4 (at most 5.9 against
    2.1); c64 65.0k against 50.1k, p99 18.8 ms against 13.4 (at most 33 against
    63). ``perf sched latency`` at c64: wrk waited 0.75-0.87 ms for a CPU on
    average instead of 0.05 (at most 14-22 ms instead of 39-41). So it stays off
    here: the tail of the child's own requests doubles at c16, and a normal task
    beside it waits fifteen times as long for its CPU. The event MPM, where one
    thread serves a run of requests, gained nothing (6 rounds, req/s either way
    within the noise; involuntary switches 0.75 per request either way: they
    are wrk's wake-ups preempting the leader).

    What an application starts from a child inherits SCHED_BATCH (Linux resets only the
    real-time policies on fork); it, too, is only kept from preempting on wake-up.
    """
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass  # not Linux, or not permitted (a seccomp profile): stay as started


def cpu_for(slot: int, children: int, cpus: list[int]) -> int | None:
    """The CPU the child in ``slot`` keeps to, when each of the ``children`` the
    configuration allows can have one of ``cpus`` to itself; else None (any of them).
    A graceful restart's new children, in other slots, may share one for a while."""
    if len(cpus) < 2 or children > len(cpus):
        return None
    return cpus[slot % len(cpus)]


def keep_to_one_cpu(slot: int, children: int) -> bool:
    """Keep this threaded child to one CPU of those the parent was given (``taskset``
    chooses them), when there are enough for each child the configuration allows.
    True if it now keeps to one.

    A child runs Python on one CPU at a time anyway (the GIL), and a request moves
    between its threads at every read: the thread that holds the connection wakes and
    takes the GIL from the one that served last, a cross-CPU wake-up whenever the two
    run on different CPUs. Measured on 2 CPUs, wrk -c16 keep-alive, alternating rounds,
    medians: worker (2 children x 32 threads) 74.5k and 83.9k req/s kept to a CPU each
    against 59.2k and 66.9k, at 19.0 and 17.7 µs of CPU per request against 21.7 and
    19.7 (two runs of 5 rounds), 69.8k against 63.5k in a third; winnt (its one child,
    64 threads, kept to one CPU) 52.0k req/s against 30.1k, at 18.9 µs of CPU per
    request against 37.5 (4 rounds). The event MPM's children gained nothing from it
    (83.7k against 83.5k req/s): there one thread serves many requests without a
    hand-over, so they are left to the kernel.

    Not measured: machines with more CPUs than children, where a child kept to one
    loses a second CPU for its threads' kernel work.
    """
    cpu = cpu_for(slot, children, sorted(os.sched_getaffinity(0)))
    if cpu is None:
        return False
    with contextlib.suppress(OSError):  # the CPU has left our cpuset: any CPU will do
        os.sched_setaffinity(0, [cpu])
        return True
    return False
