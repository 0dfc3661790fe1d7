#!/usr/bin/env bash
# qr-baseline.sh — score ZXing-C++ (Debian's zxing-cpp-tools, ZXingReader)
# on folders laid out like ../shared/testdata/qr (image beside a .txt), on
# one core, as the baseline for docs/qr.md. Not part of the test suite.
#
#   apt-get install zxing-cpp-tools
#   scripts/qr-baseline.sh ../shared/testdata/qr/receipts ../shared/testdata/qr/zxing-java
#
# The decode count is comparable with `loyaltyjam qr bench`. The times are
# NOT: each image costs a process start and the PNG/JPEG decode, which
# `qr bench` excludes; docs/qr.md cites the in-process anchor times instead.
set -euo pipefail
command -v ZXingReader >/dev/null || { echo "ZXingReader not found: apt-get install zxing-cpp-tools" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: $0 DIR..." >&2; exit 2; }
exec python3 - "$@" <<'PY'
import os, subprocess, sys, time

def norm(b):
    return b.replace(b"\r\n", b"\n").rstrip(b"\r\n")

for root in sys.argv[1:]:
    ok, times = 0, []
    for dirpath, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if os.path.splitext(f)[1].lower() not in (".jpg", ".jpeg", ".png", ".gif"):
                continue
            txt = os.path.join(dirpath, os.path.splitext(f)[0] + ".txt")
            if not os.path.exists(txt):
                continue
            want = norm(open(txt, "rb").read())
            t0 = time.perf_counter()
            r = subprocess.run(["taskset", "-c", "0", "ZXingReader", "-bytes", "-format", "QRCode",
                                os.path.join(dirpath, f)], capture_output=True)
            times.append((time.perf_counter() - t0) * 1000)
            if norm(r.stdout) == want:
                ok += 1
    times.sort()
    n = len(times)
    rank = lambda p: times[max(1, -(-p * n // 100)) - 1] if n else 0
    print(f"{root}: ZXing-C++ {ok}/{n} ({100*ok/max(n,1):.1f}%) process wall median {rank(50):.1f} ms p95 {rank(95):.1f} ms")
PY
