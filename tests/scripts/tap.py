"""TAP output for the script tests: one line per check, the plan at the end."""
import sys

results = []


def check(desc, ok, detail=""):
    results.append(bool(ok))
    n = len(results)
    print(f"{'ok' if ok else 'not ok'} {n} - {desc}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")


def skip(desc, why):
    results.append(True)
    print(f"ok {len(results)} - {desc} # SKIP {why}")


def finish():
    """The plan line, and the exit status: 0 when every check held."""
    print(f"1..{len(results)}")
    sys.exit(0 if all(results) else 1)
