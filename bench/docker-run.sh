#!/usr/bin/env bash
# `docker run --rm busybox true` with the real docker CLI, through Vessel's daemon and through
# podman's Docker-compatible API service (`podman system service`), in the same run, on the same
# busybox image (Vessel's built-in one, saved and loaded into podman). RUNS runs each (hyperfine,
# median wall time) and the ratio; then the vessel CLI's own start-up: `vessel version` (a round
# trip to the running daemon) and `vessel --version` (no daemon). Podman gets a config of its own
# (runc, as Debian's crun refuses this host's hybrid cgroups; cgroupfs; host network; the ulimits
# root may set here) in a temporary directory.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
work=$(mktemp -d /tmp/vessel-bench-run.XXXXXX)
. "$here/bench/podman-env.sh" # before any podman command, the cleanup's too: podman of $work alone
vessel="$here/vessel"
docker=${DOCKER:-docker}
podman_pid=""
cleanup() {
    [ -z "$podman_pid" ] || { kill "$podman_pid" 2>/dev/null; wait "$podman_pid" 2>/dev/null; } || true
    "$vessel" --root "$work/vroot" daemon --stop 2>/dev/null || true
    # the default bridge and nftables table of the root's containers (names from its path's SHA-256,
    # io.vessel.engine.network.NetworksConfig)
    tag=$(printf '%s' "$work/vroot" | sha256sum | cut -c1-10)
    ip link del "vs$tag" 2>/dev/null || true
    nft delete table ip "vessel_$tag" 2>/dev/null || true
    podman rm --all --force >/dev/null 2>&1 || true
    podman system reset --force >/dev/null 2>&1 || true
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
for c in hyperfine podman "$docker"; do
    command -v "$c" >/dev/null || { echo "docker-run: $c is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
done

# Vessel's daemon for a root of its own (started on demand by the first command), and the image.
"$vessel" --root "$work/vroot" save -o "$work/busybox.tar" busybox
vsock=$work/vroot/run/docker.sock
podman load -q -i "$work/busybox.tar" >/dev/null
psock=$work/podman.sock
podman system service --time=0 "unix://$psock" >"$work/podman-service.log" 2>&1 &
podman_pid=$!
for _ in $(seq 100); do [ -S "$psock" ] && DOCKER_HOST="unix://$psock" "$docker" version >/dev/null 2>&1 && break; sleep 0.1; done

# Both must run it before anything is measured.
for s in "$vsock" "$psock"; do
    if ! out=$(DOCKER_HOST="unix://$s" "$docker" run --rm busybox sh -c 'echo ok' 2>&1) || [ "$out" != ok ]; then
        echo "docker-run: docker run through unix://$s failed: $out" >&2
        [ "$s" = "$psock" ] && tail -20 "$work/podman-service.log" >&2
        exit 1
    fi
done

hyperfine -N -w 2 -r "$runs" --export-json "$work/run.json" \
    -n vessel "env DOCKER_HOST=unix://$vsock $docker run --rm busybox true" \
    -n podman "env DOCKER_HOST=unix://$psock $docker run --rm busybox true" >/dev/null
hyperfine -N -w 3 -r $((runs * 2)) --export-json "$work/start.json" \
    -n "vessel version" "$vessel --root $work/vroot version" \
    -n "vessel --version" "$vessel --version" >/dev/null
median() { grep -o '"median": *[0-9.e-]*' "$1" | sed -n "${2}p" | sed 's/.*: *//' | awk '{printf "%.1f", $1*1000}'; }
v=$(median "$work/run.json" 1) p=$(median "$work/run.json" 2)
printf '\ndocker run --rm busybox true (docker CLI %s)\n%-8s %12s\n' "$("$docker" version -f '{{.Client.Version}}' 2>/dev/null | head -1 || true)" daemon "median (ms)"
printf '%-8s %12s\n' vessel "$v" podman "$p"
awk -v a="$v" -v b="$p" 'BEGIN {printf "vessel / podman = %.2fx\n", a/b}'
printf '\nvessel CLI start-up\n%-18s %12s\n' command "median (ms)"
printf '%-18s %12s\n' "vessel version" "$(median "$work/start.json" 1)" "vessel --version" "$(median "$work/start.json" 2)"
printf 'load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
