#!/usr/bin/env bash
# Runs every Chorus test suite against an already built tree and prints one
# summary. The last line is exactly "N passed, N failed" (", N skipped" added
# when something was skipped), counted from the runners' own reports.
#
#   tests/run-all.sh [BUILD_DIR] [--suites unit,integration,browser]
#
# BUILD_DIR (or $CHORUS_BUILD): the configured build tree (the source tree for an
# in-tree build, e.g. build/ or build-asan/ for out-of-tree ones). Default: the
# source tree if it is configured, else ./build.
# Environment:
#   CHORUS_BIN      chorus binary to test (default BUILD_DIR/chorus)
#   CHORUS_TARGET   chorus (default) or janus: run integration and browser tests
#                   against Debian's Janus to check the tests themselves
#   CHORUS_SUITES   same as --suites
#   CHORUS_ARTIFACTS  logs, junit/TAP reports, screenshots (default tests/artifacts)
#   JOBS            make -j for "make check" (default 2)
# Exit status: 0 when nothing failed, 1 otherwise.
set -uo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${CHORUS_BUILD:-}"
SUITES="${CHORUS_SUITES:-unit,integration,browser}"
while [ $# -gt 0 ]; do
    case "$1" in
    --suites) SUITES="$2"; shift 2 ;;
    --suites=*) SUITES="${1#--suites=}"; shift ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) echo "run-all.sh: unknown option $1" >&2; exit 2 ;;
    *) BUILD="$1"; shift ;;
    esac
done
if [ -z "$BUILD" ]; then
    if [ -f "$SRC/Makefile" ]; then BUILD="$SRC"; else BUILD="$SRC/build"; fi
fi
BUILD="$(cd "$BUILD" 2>/dev/null && pwd || echo "$BUILD")"
export CHORUS_BUILD="$BUILD"
ART="${CHORUS_ARTIFACTS:-$SRC/tests/artifacts}"
mkdir -p "$ART"
ART="$(cd "$ART" && pwd)"
export CHORUS_ARTIFACTS="$ART"
PY=/usr/bin/python3

echo "== Chorus tests: source $SRC, build $BUILD, target ${CHORUS_TARGET:-chorus}," \
    "binary ${CHORUS_BIN:-$BUILD/chorus}"

TOTAL_PASS=0 TOTAL_FAIL=0 TOTAL_SKIP=0
SUMMARY=()

record() { # suite pass fail skip note
    TOTAL_PASS=$((TOTAL_PASS + $2))
    TOTAL_FAIL=$((TOTAL_FAIL + $3))
    TOTAL_SKIP=$((TOTAL_SKIP + $4))
    SUMMARY+=("$(printf '%-12s %4d passed, %4d failed, %4d skipped%s' "$1" "$2" "$3" "$4" "${5:+  ($5)}")")
}

want() { case ",$SUITES," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# ---- 1. unit tests: make check (GTest programs through automake's TAP driver) ----
run_unit() {
    local log="$ART/unit-make-check.log" rc
    if [ ! -f "$BUILD/Makefile" ]; then
        echo "unit: $BUILD is not a configured build tree (no Makefile)"
        record unit 0 1 0 "not configured"
        return
    fi
    echo "== unit: make -C $BUILD check"
    make -C "$BUILD" -j"${JOBS:-2}" check AM_COLOR_TESTS=no >"$log" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP|XFAIL):|^# [A-Z]+: ' "$log" | sed 's/^/  /' | tail -n 200
    # The test-suite summary: "# TOTAL: n", "# PASS: n", "# SKIP: n", "# FAIL: n", ...
    local pass fail skip
    pass=$(awk '/^# PASS: /{s+=$3} END{print s+0}' "$log")
    fail=$(awk '/^# (FAIL|XPASS|ERROR): /{s+=$3} END{print s+0}' "$log")
    skip=$(awk '/^# SKIP: /{s+=$3} END{print s+0}' "$log")
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        echo "unit: make check exited $rc without a failing test (build error?); last lines:"
        tail -n 30 "$log" | sed 's/^/  /'
        fail=$((fail + 1))
        record unit "$pass" "$fail" "$skip" "make check exited $rc, see $log"
        return
    fi
    record unit "$pass" "$fail" "$skip"
}

# ---- 2. integration tests: pytest under Debian's python3 ----
run_integration() {
    local xml="$ART/integration-junit.xml" log="$ART/integration.log" rc counts
    echo "== integration: $PY -m pytest tests/integration"
    rm -f "$xml"
    (cd "$SRC" && "$PY" -m pytest tests/integration -p no:cacheprovider -rfEs -q --tb=short \
        --junitxml="$xml" -o junit_family=xunit2) 2>&1 | tee "$log" | tail -n 80
    rc=${PIPESTATUS[0]}
    if [ ! -s "$xml" ]; then
        echo "integration: pytest exited $rc and wrote no report"
        record integration 0 1 0 "pytest exited $rc, see $log"
        return
    fi
    # One verdict per test: failed if any phase (setup, call, teardown) failed.
    counts=$("$PY" - "$xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
rank = {"passed": 0, "skipped": 1, "failed": 2}
verdict = {}
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    tags = {child.tag for child in tc}
    v = "failed" if tags & {"failure", "error"} else "skipped" if "skipped" in tags else "passed"
    key = (tc.get("classname"), tc.get("name"))
    if rank[v] >= rank[verdict.get(key, "passed")]:
        verdict[key] = v
vals = list(verdict.values())
print(vals.count("passed"), vals.count("failed"), vals.count("skipped"))
EOF
    ) || counts="0 1 0"
    # shellcheck disable=SC2086
    set -- $counts
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ "$2" -eq 0 ]; then
        record integration "$1" 1 "$3" "pytest exited $rc"
        return
    fi
    record integration "$1" "$2" "$3"
}

# ---- 3. browser tests: node's test runner ----
run_browser() {
    local dir="$SRC/tests/browser" tap="$ART/browser.tap" rc
    echo "== browser: node --test tests/browser"
    if [ ! -d "$dir/node_modules/playwright-core" ]; then
        echo "browser: installing npm dependencies (npm ci)"
        if ! (cd "$dir" && npm ci --no-audit --no-fund >"$ART/browser-npm.log" 2>&1); then
            echo "browser: npm ci failed, see $ART/browser-npm.log"
            record browser 0 1 0 "npm ci failed"
            return
        fi
    fi
    rm -f "$tap"
    (cd "$dir" && node --test --test-reporter=tap) >"$tap" 2>&1
    rc=$?
    grep -E '^(not )?ok |^# (tests|pass|fail|cancelled|skipped|todo) ' "$tap" | sed 's/^/  /'
    if ! grep -q '^# tests ' "$tap"; then
        tail -n 40 "$tap"
        record browser 0 1 0 "node --test exited $rc without a summary"
        return
    fi
    local pass fail skip
    pass=$(awk '/^# pass /{print $3}' "$tap" | tail -n 1)
    fail=$(awk '/^# (fail|cancelled) /{s+=$3} END{print s+0}' "$tap")
    skip=$(awk '/^# (skipped|todo) /{s+=$3} END{print s+0}' "$tap")
    [ "$fail" -gt 0 ] && grep -vE '^(ok |# )' "$tap" | head -n 80
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        record browser "${pass:-0}" 1 "$skip" "node --test exited $rc"
        return
    fi
    record browser "${pass:-0}" "$fail" "$skip"
}

want unit && run_unit
want integration && run_integration
want browser && run_browser

echo "== summary (build $BUILD)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
FINAL="$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_SKIP" -gt 0 ] && FINAL="$FINAL, $TOTAL_SKIP skipped"
echo "$FINAL"
[ "$TOTAL_FAIL" -eq 0 ]
