"""Sum the JUnit XML reports of every suite into the closing line CI reads."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def count(report: Path) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def record_crash(path: Path, suite: str, message: str) -> None:
    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=suite, tests="1", failures="1")
    case = ET.SubElement(ts, "testcase", classname=suite, name="suite exits 0")
    ET.SubElement(case, "failure", message=message)
    ET.ElementTree(root).write(path)


def record_checks(path: Path, suite: str, checks: Path) -> int:
    """JUnit report of a shell suite's checks: one "ok|fail<TAB>name<TAB>message" line each."""
    rows = [line.split("\t", 2) for line in checks.read_text().splitlines() if line]
    failed = sum(1 for row in rows if row[0] != "ok")
    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(rows)), failures=str(failed))
    for status, name, *message in rows:
        case = ET.SubElement(ts, "testcase", classname=suite, name=name)
        if status != "ok":
            ET.SubElement(case, "failure", message=(message or [""])[0])
    ET.ElementTree(root).write(path)
    return 1 if failed or not rows else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--record-crash"]:
        record_crash(Path(argv[1]), argv[2], argv[3])
        return 0
    if argv[:1] == ["--record-checks"]:
        return record_checks(Path(argv[1]), argv[2], Path(argv[3]))
    totals = [0, 0, 0]
    reports = sorted(Path(argv[0]).glob("*.xml"))
    for report in reports:
        try:
            p, f, s = count(report)
        except ET.ParseError as exc:
            p, f, s = 0, 1, 0
            print(f"{report.name}: unreadable report ({exc})")
        print(f"{report.stem}: {p} passed, {f} failed, {s} skipped")
        totals = [totals[0] + p, totals[1] + f, totals[2] + s]
    if not reports:
        print("no test reports were written")
        totals[1] += 1
    print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
