"""ECG render time per 10 s 12-lead record: read + measure + PNG + PDF, as the worker does it.

    PYTHONPATH=. .venv/bin/python benchmarks/ecg_render.py [--runs 10]

Inputs: pydicom's Mortara record (1000 Hz) and a synthetic 500 Hz record. Prints the median and p95
of each step over the runs (after one warm-up run, which loads fonts and neurokit2).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from imaging.ecg import read_ecg, to_bytes
from imaging.ecg.measure import measure
from imaging.ecg.render import render_page
from tests.support import ecg_factory
from tests.support.paths import pydicom_test_file


def read_and_encode(data: bytes) -> bytes:
    return to_bytes(read_ecg(data))


def timed(step: Callable[[], object], runs: int) -> tuple[float, float]:
    step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    inputs = {
        "Mortara DICOM, 1000 Hz": pydicom_test_file("waveform_ecg.dcm").read_bytes(),
        "synthetic WFDB, 500 Hz": ecg_factory.wfdb_zip(ecg_factory.synthetic_leads(), 500),
    }
    print(f"{'record':<24} {'step':<10} {'median ms':>10} {'p95 ms':>8}")
    for name, data in inputs.items():
        record = read_ecg(data)
        automated = measure(record)
        steps: dict[str, Callable[[], object]] = {
            "read": partial(read_and_encode, data),
            "measure": partial(measure, record),
            "png": partial(render_page, record, automated, "png"),
            "pdf": partial(render_page, record, automated, "pdf"),
        }
        total = 0.0
        for step_name, step in steps.items():
            median, p95 = timed(step, runs)
            total += median
            print(f"{name:<24} {step_name:<10} {median:>10.0f} {p95:>8.0f}")
        print(f"{name:<24} {'total':<10} {total:>10.0f}")


if __name__ == "__main__":
    main()
