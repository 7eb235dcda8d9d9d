#!/usr/bin/env bash
# A cached rebuild: the same Dockerfile and context built once (to fill the cache, not measured),
# then rebuilt RUNS times with `vessel build` and with `podman build` (buildah inside), in the same
# run. Every step of a rebuild is served from the cache on both sides. Podman gets a config of its
# own (cgroupfs, no systemd, the ulimits root may set here) in a temporary directory.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
work=$(mktemp -d /tmp/vessel-bench-build.XXXXXX)
. "$here/bench/podman-env.sh" # before any podman command, the cleanup's too: podman of $work alone
cleanup() {
    "$here/vessel" --root "$work/vroot" daemon --stop 2>/dev/null || true
    podman rmi --all --force >/dev/null 2>&1 || true
    podman system reset --force >/dev/null 2>&1 || true
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Both start from the same busybox image: Vessel's built-in one, saved and loaded into podman.
vessel="$here/vessel"
"$vessel" --root "$work/vroot" save -o "$work/busybox.tar" busybox
podman load -q -i "$work/busybox.tar" >/dev/null

mkdir -p "$work/ctx/app"
for f in $(seq 50); do echo "source file $f" > "$work/ctx/app/f$f.txt"; done
head -c 2M /dev/urandom > "$work/ctx/app/data.bin"
cat > "$work/ctx/Dockerfile" <<'DF'
FROM busybox
ARG VERSION=1
ENV APP_HOME=/app VERSION=${VERSION}
WORKDIR /app
COPY app/ /app/
RUN mkdir -p /var/cache/app && echo built $VERSION > /var/cache/app/stamp
RUN sha256sum /app/data.bin > /app/data.sha256
LABEL org.example.bench=true
EXPOSE 8080
USER nobody
CMD ["sh", "-c", "cat /var/cache/app/stamp"]
DF
"$vessel" --root "$work/vroot" build -q -t bench:1 "$work/ctx" >/dev/null
podman build -q -t bench:1 "$work/ctx" >/dev/null
hyperfine -w 1 -r "$runs" --export-json "$work/result.json" \
    -n vessel "$vessel --root $work/vroot build -q -t bench:1 $work/ctx" \
    -n podman "podman build -q -t bench:1 $work/ctx" >/dev/null
median() { grep -o '"median": *[0-9.e-]*' "$work/result.json" | sed -n "${1}p" | sed 's/.*: *//' | awk '{printf "%.1f", $1*1000}'; }
v=$(median 1) p=$(median 2)
printf '\ncached rebuild (10 instructions, 51 files)\n%-8s %12s\n' tool "median (ms)"
printf '%-8s %12s\n' vessel "$v" podman "$p"
awk -v a="$v" -v b="$p" 'BEGIN {printf "vessel / podman = %.2fx\n", a/b}'
