#!/usr/bin/env bash
# Installs the Debian packages Vessel builds and tests with (idempotent; needs root).
set -euo pipefail
# libssl3: libcrypto hashes layers at full speed from the first byte (io.vessel.linux.NativeDigest).
# nftables: NAT and published ports of container networks. catatonit: docker-init for `run --init`.
need=(gcc make busybox-static iproute2 procps libssl3 nftables catatonit)
if [ "${1:-}" = "--test" ]; then
    need+=(runc crun podman conmon uidmap hyperfine time mount bsdutils tar zstd docker-registry apache2-utils openssl
           skopeo umoci curl
           # vmm ACPI tables: iasl disassembles and recompiles them in IaslTest
           acpica-tools
           # vmm guest assets (scripts/guest-assets.sh, make-ext4.sh): the initramfs, module order, kernel payload, disks
           cpio kmod lz4 xz-utils e2fsprogs
           # networking tests: nsenter/unshare
           util-linux
           # bench/vm-boot.sh: the peer VMM, qemu-system-x86_64 -M microvm
           qemu-system-x86
           # RuntimeServiceTest connects to the runtime service as another user from a python3 one-liner
           python3)
fi
missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "vessel: missing packages ${missing[*]}: run as root (or: apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "vessel: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
