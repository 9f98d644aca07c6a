#!/usr/bin/env python3
"""scripts/test's closing table: each phase's wall time and the ten slowest tests.

    python scripts/test_summary.py REPORT_DIR

REPORT_DIR holds phases.tsv (name, seconds, exit code; one line a phase, written by scripts/test)
and pytest.xml (pytest's JUnit report, when pytest ran)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def main(report: Path) -> int:
    rows = [line.split("\t") for line in (report / "phases.tsv").read_text().splitlines() if line.strip()]
    width = max([len(name) for name, _, _ in rows] + [5])
    print(f"\n== phase times\n{'phase':<{width}}  {'m:ss':>7}  result")
    total = 0.0
    for name, seconds, rc in rows:
        total += float(seconds)
        print(f"{name:<{width}}  {minutes(float(seconds)):>7}  {'ok' if rc == '0' else 'FAILED (exit ' + rc + ')'}")
    print(f"{'total':<{width}}  {minutes(total):>7}")
    xml = report / "pytest.xml"
    if xml.exists():
        cases = [
            (float(case.get("time", 0)), f"{case.get('classname', '')}::{case.get('name', '')}")
            for case in ET.parse(xml).getroot().iter("testcase")
        ]
        print("\n== ten slowest tests (s)")
        for took, test in sorted(cases, reverse=True)[:10]:
            print(f"{took:8.1f}  {test}")
        # pytest's own count, again as the last line, so that it closes the run's output
        suites = list(ET.parse(xml).getroot().iter("testsuite"))
        ran, failed, errors, skipped = (
            sum(int(x.get(k, 0)) for x in suites) for k in ("tests", "failures", "errors", "skipped")
        )
        print(f"\npytest: {ran - failed - errors - skipped} passed, {failed + errors} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
