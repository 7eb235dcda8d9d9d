#!/usr/bin/env bash
# Runtime start-up: `run` of /bin/true in one bundle, vessel-runtime against runc and crun in the
# same run. Prints the median wall time of RUNS runs each (hyperfine), the median peak RSS, and
# the ratios to runc. Needs root (containers) and hyperfine, runc, crun (make bench installs them).
#
# "vessel" is the command as installed: the C front end (build/vessel-runtime) and the warm
# runtime service it starts on first use. Its peak RSS is the front end's (with the launcher it
# forks); the service stays resident between calls, so its RSS (now, and its peak) is printed
# beside it: that memory is the price of the speed. "vessel-cold" is the same command line in a
# JVM of its own per call (the fallback when no service can be used).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-30}
work=$(mktemp -d /tmp/vessel-bench.XXXXXX)
cleanup() {
    for r in vessel vessel-cold runc crun; do
        for id in $(ls "$work/root-$r" 2>/dev/null); do
            ${cmd[$r]:-true} --root "$work/root-$r" delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    for pid in $(service_pids); do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
declare -A cmd=([vessel]="$here/build/vessel-runtime" [vessel-cold]="env VESSEL_RUNTIME_COLD=1 $here/vessel-runtime"
    [runc]=runc [crun]=crun)
# The benchmark's own runtime service (not one a user or a test has running), found by its socket.
export VESSEL_RUNTIME_SERVICE_DIR=$work/service
service_pids() {
    { grep -lz "^VESSEL_RUNTIME_SERVE=$work/service/" /proc/[0-9]*/environ 2>/dev/null || true; } | cut -d/ -f3
}
trap cleanup EXIT
[ -x "$here/build/vessel-runtime" ] || make -s -C "$here" build

"$here/scripts/make-rootfs.sh" "$work/bundle/rootfs" >/dev/null
"$here/vessel-runtime" spec --bundle "$work/bundle"
# The default spec runs an interactive sh; the benchmark runs /bin/true without a terminal, and
# says ociVersion 1.0.2 because Debian's crun refuses newer versions.
sed -i -e 's/"terminal": true/"terminal": false/' -e 's|"sh"|"/bin/true"|' \
    -e 's/"ociVersion": "[^"]*"/"ociVersion": "1.0.2"/' "$work/bundle/config.json"

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A t rss
for r in vessel vessel-cold runc crun; do
    c=${cmd[$r]}
    if ! command -v ${c%% *} >/dev/null; then echo "$r: not installed"; continue; fi
    if ! err=$($c --root "$work/root-$r" run --bundle "$work/bundle" probe-$r 2>&1 >/dev/null); then
        echo "$r: cannot run a container on this host: $(echo "$err" | tail -1)"
        $c --root "$work/root-$r" delete --force probe-$r >/dev/null 2>&1 || true
        continue
    fi
    hyperfine -N -w 3 -r "$runs" --export-json "$work/$r.json" \
        "$c --root $work/root-$r --log $work/$r.log run --bundle $work/bundle b-$r" >/dev/null 2>&1
    t[$r]=$(grep -o '"median": *[0-9.e-]*' "$work/$r.json" | head -1 | sed 's/.*: *//' | awk '{printf "%.1f", $1*1000}')
    rss[$r]=$(for i in $(seq 10); do
        /usr/bin/time -f %M $c --root "$work/root-$r" run --bundle "$work/bundle" r-$r 2>&1 >/dev/null | tail -1
    done | median)
done

service=$(service_pids | head -1)
if [ -n "$service" ]; then
    svc_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$service/status")
    svc_hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$service/status")
fi

printf '\n%-16s %14s %16s %12s %12s\n' runtime "median (ms)" "peak RSS (KiB)" "time/runc" "RSS/runc"
for r in vessel vessel-cold runc crun; do
    [ -n "${t[$r]:-}" ] || continue
    tr=$(awk -v a="${t[$r]}" -v b="${t[runc]:-0}" 'BEGIN {if (b>0) printf "%.2fx", a/b; else print "-"}')
    rr=$(awk -v a="${rss[$r]}" -v b="${rss[runc]:-0}" 'BEGIN {if (b>0) printf "%.2fx", a/b; else print "-"}')
    printf '%-16s %14s %16s %12s %12s\n' "$r" "${t[$r]}" "${rss[$r]}" "$tr" "$rr"
done
if [ -n "${svc_rss:-}" ]; then
    echo "vessel's runtime service (pid $service, resident between calls): RSS ${svc_rss} KiB now, ${svc_hwm} KiB at its peak"
fi
echo "($runs runs each, run of /bin/true, $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg))"
