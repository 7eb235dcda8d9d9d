#!/usr/bin/env bash
# Runtime start-up: `run` of /bin/true in one bundle, vessel-runtime against runc and crun in the
# same run. Prints the median wall time of RUNS runs each (hyperfine), the median peak RSS, and
# the ratios to runc. Needs root (containers) and hyperfine, runc, crun (make bench installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-30}
work=$(mktemp -d /tmp/vessel-bench.XXXXXX)
cleanup() {
    for r in vessel runc crun; do
        for id in $(ls "$work/root-$r" 2>/dev/null); do
            "${cmd[$r]:-true}" --root "$work/root-$r" delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    rm -rf "$work"
}
declare -A cmd=([vessel]="$here/vessel-runtime" [runc]=runc [crun]=crun)
trap cleanup EXIT

"$here/scripts/make-rootfs.sh" "$work/bundle/rootfs" >/dev/null
"$here/vessel-runtime" spec --bundle "$work/bundle"
# The default spec runs an interactive sh; the benchmark runs /bin/true without a terminal, and
# says ociVersion 1.0.2 because Debian's crun refuses newer versions.
sed -i -e 's/"terminal": true/"terminal": false/' -e 's|"sh"|"/bin/true"|' \
    -e 's/"ociVersion": "[^"]*"/"ociVersion": "1.0.2"/' "$work/bundle/config.json"

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A t rss
for r in vessel runc crun; do
    c=${cmd[$r]}
    if ! command -v "$c" >/dev/null; then echo "$r: not installed"; continue; fi
    if ! err=$("$c" --root "$work/root-$r" run --bundle "$work/bundle" probe-$r 2>&1 >/dev/null); then
        echo "$r: cannot run a container on this host: $(echo "$err" | tail -1)"
        "$c" --root "$work/root-$r" delete --force probe-$r >/dev/null 2>&1 || true
        continue
    fi
    hyperfine -N -w 3 -r "$runs" --export-json "$work/$r.json" \
        "$c --root $work/root-$r --log $work/$r.log run --bundle $work/bundle b-$r" >/dev/null 2>&1
    t[$r]=$(grep -o '"median": *[0-9.e-]*' "$work/$r.json" | head -1 | sed 's/.*: *//' | awk '{printf "%.1f", $1*1000}')
    rss[$r]=$(for i in $(seq 10); do
        /usr/bin/time -f %M "$c" --root "$work/root-$r" run --bundle "$work/bundle" r-$r 2>&1 >/dev/null | tail -1
    done | median)
done

printf '\n%-16s %14s %16s %12s %12s\n' runtime "median (ms)" "peak RSS (KiB)" "time/runc" "RSS/runc"
for r in vessel runc crun; do
    [ -n "${t[$r]:-}" ] || continue
    tr=$(awk -v a="${t[$r]}" -v b="${t[runc]:-0}" 'BEGIN {if (b>0) printf "%.2fx", a/b; else print "-"}')
    rr=$(awk -v a="${rss[$r]}" -v b="${rss[runc]:-0}" 'BEGIN {if (b>0) printf "%.2fx", a/b; else print "-"}')
    printf '%-16s %14s %16s %12s %12s\n' "$r" "${t[$r]}" "${rss[$r]}" "$tr" "$rr"
done
echo "($runs runs each, run of /bin/true, $(nproc) CPUs, $(uname -r))"
