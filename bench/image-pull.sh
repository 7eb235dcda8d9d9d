#!/usr/bin/env bash
# Pull + unpack of a multi-layer image from a local registry (Debian's docker-registry on
# 127.0.0.1): `vessel pull` (download, verify, apply each layer into the store) against
# `skopeo copy` to an OCI layout + `umoci unpack` (the same work done by the two standard tools),
# in the same run. Prints the medians of RUNS runs each (hyperfine) and the ratio.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
work=$(mktemp -d /tmp/vessel-bench-pull.XXXXXX)
reg_pid=""
cleanup() {
    [ -z "$reg_pid" ] || kill "$reg_pid" 2>/dev/null || true
    "$here/vessel" --root "$work/vroot" daemon --stop 2>/dev/null || true
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
mkdir -p "$work/registry"
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

# The image: busybox plus four layers of 8 MiB of incompressible data and a few hundred small files,
# made with umoci and pushed with skopeo, so that neither side made its own input.
umoci init --layout "$work/src" >/dev/null
umoci new --image "$work/src:bench" >/dev/null
umoci unpack --image "$work/src:bench" "$work/b" >/dev/null
cp /bin/busybox "$work/b/rootfs/busybox"
umoci repack --image "$work/src:bench" "$work/b" >/dev/null
for l in 1 2 3 4; do
    rm -rf "$work/b"; umoci unpack --image "$work/src:bench" "$work/b" >/dev/null
    mkdir -p "$work/b/rootfs/layer$l"
    head -c 8M /dev/urandom > "$work/b/rootfs/layer$l/blob"
    for f in $(seq 200); do echo "file $f of layer $l" > "$work/b/rootfs/layer$l/f$f"; done
    umoci repack --image "$work/src:bench" "$work/b" >/dev/null
done
rm -rf "$work/b"
skopeo copy -q --dest-tls-verify=false "oci:$work/src:bench" "docker://127.0.0.1:$port/bench:1"
ref=127.0.0.1:$port/bench:1

vessel="$here/vessel"
# builds on first use and starts the root's daemon, outside the measurement; between runs the image
# is removed and its blobs and layers collected, so each pull downloads and unpacks it all again
"$vessel" --root "$work/vroot" version >/dev/null
hyperfine -w 1 -r "$runs" --export-json "$work/result.json" \
    -n vessel --prepare "$vessel --root $work/vroot rmi -f $ref >/dev/null 2>&1; $vessel --root $work/vroot image prune -a -f >/dev/null" \
    "$vessel --root $work/vroot pull -q $ref" \
    -n skopeo+umoci --prepare "rm -rf $work/oci $work/bundle" \
    "skopeo copy -q --src-tls-verify=false docker://$ref oci:$work/oci:1 && umoci unpack --image $work/oci:1 $work/bundle" \
    >/dev/null
median() { grep -o '"median": *[0-9.e-]*' "$work/result.json" | sed -n "${1}p" | sed 's/.*: *//' | awk '{printf "%.1f", $1*1000}'; }
v=$(median 1) p=$(median 2)
printf '\npull + unpack of %s (5 layers, 32 MiB)\n%-14s %12s\n' "$ref" tool "median (ms)"
printf '%-14s %12s\n' vessel "$v" skopeo+umoci "$p"
awk -v a="$v" -v b="$p" 'BEGIN {printf "vessel / (skopeo+umoci) = %.2fx\n", a/b}'
