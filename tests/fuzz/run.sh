#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/build.sh) and runs each one for SECONDS on a
# fresh copy of its seed corpus (tests/fuzz/corpus/<name>/), then prints per target the
# executions, exec/s, new corpus entries and crashes. Exit status 1 if any target crashed
# (sanitizer report, failed check, timeout, leak or out-of-memory), 2 if it could not build.
#
#   tests/fuzz/run.sh [SECONDS]          (default 10)
#
# Environment:
#   FUZZ_OUT        build and work directory (default build-fuzz/ under the source tree)
#   FUZZ_TARGETS    targets to run, space-separated (default: all six)
#   FUZZ_ARTIFACTS  where crash inputs go (default tests/artifacts/fuzz/)
#   FUZZ_NICE       niceness of the fuzzers (default 10: other builds keep the CPU)
#   FUZZ_RUNS       stop after this many executions instead of (or before) SECONDS
#   FUZZ_ARGS       extra libFuzzer flags, e.g. "-jobs=2 -workers=2"
#   FUZZ_KEEP_CORPUS=1  keep the working corpus of the previous run instead of re-seeding
# Logs: FUZZ_OUT/run/<target>.log; working corpora: FUZZ_OUT/run/<target>/.
# Reproduce a crash: FUZZ_OUT/<target> <crash file>; minimize it:
#   FUZZ_OUT/<target> -minimize_crash=1 -runs=100000 <crash file>
set -uo pipefail

SRC="$(cd "$(dirname "$0")/../.." && pwd)"
SECONDS_PER_TARGET="${1:-10}"
OUT="${FUZZ_OUT:-$SRC/build-fuzz}"
ART="${FUZZ_ARTIFACTS:-$SRC/tests/artifacts/fuzz}"
TARGETS="${FUZZ_TARGETS:-fuzz_sdp fuzz_rtp fuzz_rtcp fuzz_dcep fuzz_api fuzz_http}"
NICE="${FUZZ_NICE:-10}"

# shellcheck disable=SC2086 # $TARGETS is a list
if ! nice -n "$NICE" "$SRC/tests/fuzz/build.sh" "$OUT" $TARGETS >"${TMPDIR:-/tmp}/chorus-fuzz-build.$$.log" 2>&1; then
    tail -n 40 "${TMPDIR:-/tmp}/chorus-fuzz-build.$$.log"
    rm -f "${TMPDIR:-/tmp}/chorus-fuzz-build.$$.log"
    echo "run.sh: the fuzz targets did not build" >&2
    exit 2
fi
rm -f "${TMPDIR:-/tmp}/chorus-fuzz-build.$$.log"
OUT="$(cd "$OUT" && pwd)"
mkdir -p "$ART" "$OUT/run" "$OUT/dict"
ART="$(cd "$ART" && pwd)"

# ---- dictionaries for the text formats ----
cat >"$OUT/dict/sdp.dict" <<'EOF'
"\x0d\x0a"
"v=0"
"o=- "
" IN IP4 "
" IN IP6 "
"s=-"
"t=0 0"
"c=IN IP4 0.0.0.0"
"b=AS:"
"m=audio 9 UDP/TLS/RTP/SAVPF "
"m=video 9 UDP/TLS/RTP/SAVPF "
"m=application 9 UDP/DTLS/SCTP webrtc-datachannel"
"m=application 9 DTLS/SCTP 5000"
"a=group:BUNDLE "
"a=msid-semantic: WMS"
"a=extmap-allow-mixed"
"a=ice-lite"
"a=ice-ufrag:"
"a=ice-pwd:"
"a=ice-options:trickle"
"a=fingerprint:sha-256 "
"a=setup:actpass"
"a=setup:active"
"a=setup:passive"
"a=mid:"
"a=msid:"
"a=sendrecv"
"a=sendonly"
"a=recvonly"
"a=inactive"
"a=rtcp:9 IN IP4 0.0.0.0"
"a=rtcp-mux"
"a=rtcp-mux-only"
"a=rtcp-rsize"
"a=rtpmap:"
"a=fmtp:"
"a=rtcp-fb:"
"a=rtcp-fb:* "
" nack pli"
" ccm fir"
" goog-remb"
" transport-cc"
"a=extmap:"
"urn:ietf:params:rtp-hdrext:sdes:mid"
"urn:ietf:params:rtp-hdrext:ssrc-audio-level"
"a=ssrc:"
" cname:"
" msid:"
"a=ssrc-group:FID "
"a=ssrc-group:SIM "
"a=rid:"
" send"
" recv"
"a=simulcast:send "
"a=simulcast:recv "
"a=candidate:"
" typ host"
" typ srflx"
" typ relay"
" raddr "
" rport "
" tcptype active"
" generation 0"
"a=end-of-candidates"
"a=sctp-port:5000"
"a=sctpmap:5000 webrtc-datachannel 1024"
"a=max-message-size:262144"
"opus/48000/2"
"VP8/90000"
"H264/90000"
"rtx/90000"
"apt="
"profile-level-id=42e01f"
"packetization-mode=1"
"minptime=10;useinbandfec=1"
EOF
cat >"$OUT/dict/api.dict" <<'EOF'
"\x1e"
"\x1e!"
"\x1e~"
"\x1e-"
"\x1e@"
"\"$S\""
"\"$H\""
"{\"janus\":\""
"\"janus\""
"\"transaction\":\"t\""
"\"session_id\":\"$S\""
"\"handle_id\":\"$H\""
"\"create\""
"\"attach\""
"\"message\""
"\"trickle\""
"\"keepalive\""
"\"claim\""
"\"hangup\""
"\"detach\""
"\"destroy\""
"\"info\""
"\"ping\""
"\"list_sessions\""
"\"list_handles\""
"\"handle_info\""
"\"get_status\""
"\"message_plugin\""
"\"plugin\":\"chorus.plugin.echo\""
"\"opaque_id\""
"\"id\":"
"\"body\":{"
"\"request\":\"info\""
"\"audio\":false"
"\"video\":true"
"\"data\":false"
"\"jsep\":{\"type\":\"offer\",\"sdp\":\""
"\"answer\""
"\"candidate\":{"
"\"candidates\":["
"\"candidate\":\"candidate:1 1 udp 2122260223 192.0.2.10 54321 typ host\""
"\"sdpMid\":\"0\""
"\"sdpMLineIndex\":0"
"\"completed\":true"
"\"apisecret\""
"\"admin_secret\""
"\\r\\n"
"a=ice-ufrag:"
"a=fingerprint:sha-256 "
EOF
# Request targets for fuzz_http: escapes, separators and the names of its html root.
cat >"$OUT/dict/http.dict" <<'EOF'
"/"
"//"
"\\"
"."
".."
"/../"
"%2e"
"%2E"
"%2f"
"%2F"
"%5c"
"%00"
"%25"
"%20"
"?"
"#"
"?v=1"
"index.html"
"app.js"
"a b.txt"
"a%20b.txt"
"sub/"
"style.css"
"empty/"
"in.js"
"out.txt"
"outdir/"
"prefix/"
"loop"
"root/"
"root2/"
"secret.txt"
".HTML"
".Js"
EOF

# Per target: flags (input size bound, dictionary) and its corpus folder.
target_flags() {
    case "$1" in
    fuzz_sdp) echo "-max_len=16384 -timeout=25 -dict=$OUT/dict/sdp.dict" ;;
    fuzz_api) echo "-max_len=16384 -timeout=60 -dict=$OUT/dict/api.dict" ;;
    fuzz_rtp | fuzz_rtcp) echo "-max_len=2048 -timeout=25" ;;
    fuzz_dcep) echo "-max_len=1024 -timeout=25" ;;
    fuzz_http) echo "-max_len=4096 -timeout=25 -dict=$OUT/dict/http.dict" ;;
    esac
}

stat_of() { # log key
    sed -n "s/^stat::$2: *\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

FAILED=0
printf '%-10s %12s %9s %6s %8s %s\n' target executions exec/s new crashes time
for t in $TARGETS; do
    name="${t#fuzz_}"
    seeds="$SRC/tests/fuzz/corpus/$name"
    work="$OUT/run/$t"
    if [ "${FUZZ_KEEP_CORPUS:-0}" != 1 ] || [ ! -d "$work" ]; then
        rm -rf "$work"
        mkdir -p "$work"
        [ -d "$seeds" ] && cp -p "$seeds"/* "$work"/ 2>/dev/null
    fi
    before=$(find "$work" -type f | wc -l)
    log="$OUT/run/$t.log"
    runs=()
    [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
    start=$(date +%s)
    # shellcheck disable=SC2046,SC2086 # flag lists
    (cd "$OUT" && exec nice -n "$NICE" "./$t" -max_total_time="$SECONDS_PER_TARGET" \
        -print_final_stats=1 -artifact_prefix="$ART/$t-" -rss_limit_mb=3072 \
        $(target_flags "$t") "${runs[@]}" ${FUZZ_ARGS:-} "$work") >"$log" 2>&1
    rc=$?
    elapsed=$(($(date +%s) - start))
    execs=$(stat_of "$log" number_of_executed_units)
    rate=$(stat_of "$log" average_exec_per_sec)
    new=$(($(find "$work" -type f | wc -l) - before))
    # The inputs this run saved, as libFuzzer reports them (other files in ART do not count).
    mapfile -t saved < <(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
    crashes=${#saved[@]}
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1 # died without an artifact (e.g. a crash in LLVMFuzzerInitialize)
    fi
    printf '%-10s %12s %9s %6s %8s %ss\n' "$t" "${execs:-?}" "${rate:-?}" "$new" "$crashes" \
        "$elapsed"
    if [ "$crashes" -gt 0 ]; then
        FAILED=1
        for f in "${saved[@]}"; do echo "  input: $f"; done
        grep -E -m1 -A25 '^==[0-9]+==ERROR|runtime error|check failed|^GLib|ERROR: libFuzzer' \
            "$log" | sed 's/^/  /'
        echo "  log: $log"
    fi
done
exit "$FAILED"
