#!/usr/bin/env bash
# Makes the JDK 25 AOT cache of vessel-vmm by booting the test guest once in a training JVM with
# the launcher's flags (scripts/vmm-jvm-flags.sh): the classes of the start-up path (configuration,
# KVM setup, loading, ACPI, devices, the vCPU loop, the exit) are then loaded and linked from the
# cache rather than from the jars.
# usage: aot-train-vmm.sh LIBDIR   (LIBDIR has lib/vessel-linux.jar, lib/vessel-vmm.jar and
# guests/test-guest.elf; the cache is written to LIBDIR/vessel-vmm.aot)
set -euo pipefail
lib=$(cd "${1:?usage: aot-train-vmm.sh LIBDIR}" && pwd)
here=$(dirname "$(readlink -f "$0")")
. "$here/jdk.sh"
java=$(vessel_find_jdk)/bin/java
. "$here/vmm-jvm-flags.sh"
if [ ! -w /dev/kvm ]; then
    echo "vessel: /dev/kvm is not accessible, so no AOT training run for vessel-vmm; its start-up will be slower" >&2
    exit 1
fi
guest=$lib/guests/test-guest.elf
[ -f "$guest" ] || { echo "vessel: $guest is missing (make build)" >&2; exit 1; }
work=$(mktemp -d /tmp/vessel-aot-vmm.XXXXXX)
trap 'rm -rf "$work"' EXIT
# a small disk, so that a VMM that attaches drives trains its block path too (the guest reads it all)
head -c 1048576 /dev/zero > "$work/disk.img"
cat > "$work/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$guest", "boot_args": "vessel-test blk_bench"},
 "drives": [{"drive_id": "train", "path_on_host": "$work/disk.img", "is_root_device": false, "is_read_only": true}],
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32}}
JSON
rm -f "$lib/vessel-vmm.aot"
"$java" -XX:AOTCacheOutput="$lib/vessel-vmm.aot" "${VESSEL_VMM_JVM_FLAGS[@]}" \
    -cp "$lib/lib/vessel-linux.jar:$lib/lib/vessel-vmm.jar" io.vessel.vmm.api.VmmMain \
    --no-api --config-file "$work/vm.json" > "$work/console" 2> "$work/err" || {
    echo "vessel: the vessel-vmm AOT training run failed:" >&2
    tail -5 "$work/console" "$work/err" >&2
    exit 1
}
grep -q "RESULT PASS" "$work/console" || { echo "vessel: the test guest did not pass in the AOT training run" >&2; exit 1; }
[ -f "$lib/vessel-vmm.aot" ]
