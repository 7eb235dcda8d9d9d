#!/usr/bin/env bash
# VM launch to power-off: Vessel's VMM (vessel-vmm --no-api --config-file) against
# `qemu-system-x86_64 -M microvm -enable-kvm` booting the same test guest (native/guests: the PVH
# ELF, loaded by QEMU with -kernel), which checks its boot state and exits through port 0x501
# (QEMU: -device isa-debug-exit,iobase=0x501). RUNS runs each with hyperfine (median wall time),
# the median peak RSS of 5 runs each (/usr/bin/time), and Vessel's ratios to QEMU.
# Needs /dev/kvm, hyperfine, qemu-system-x86 (make bench installs them), gcc, a JDK 25 and Maven.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
mem=${MEM_MIB:-64}
. "$here/scripts/jdk.sh"
java="$(vessel_find_jdk)/bin/java"
work=$(mktemp -d /tmp/vessel-vm-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -w /dev/kvm ] || { echo "vm-boot: /dev/kvm is not accessible; a VM benchmark needs KVM" >&2; exit 1; }
for c in hyperfine qemu-system-x86_64; do
    command -v "$c" >/dev/null || { echo "vm-boot: $c is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
done
make -s -C "$here/native/guests"
guest="$here/native/guests/test-guest.elf"
(cd "$here" && JAVA_HOME=$(dirname "$(dirname "$java")") mvn -q -B -pl vmm -am compile)
cp="$here/vmm/target/classes:$here/linux/target/classes"

cat > "$work/vm.json" <<JSON
{"boot-source": {"kernel_image_path": "$guest", "boot_args": "console=ttyS0 vessel-test"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": $mem}}
JSON
# The vessel command is C1-only with the serial GC, like the vessel CLI: a VMM process lives short
# and small, and C2 would only compete with the guest for the CPU.
vessel="$java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED -cp $cp io.vessel.vmm.api.VmmMain --no-api --config-file $work/vm.json"
qemu="qemu-system-x86_64 -M microvm -enable-kvm -m $mem -smp 1 -nodefaults -no-user-config -nographic -serial stdio -kernel $guest -append vessel-test -device isa-debug-exit,iobase=0x501"

# Each must boot the guest to its verdict before it is timed: QEMU's exit status through
# isa-debug-exit is (status << 1) | 1, so a passing guest exits QEMU with 1.
declare -A cmd=([vessel]="$vessel" [qemu]="$qemu") want=([vessel]=0 [qemu]=1)
for v in vessel qemu; do
    set +e
    out=$(${cmd[$v]} 2>"$work/$v.err"); rc=$?
    set -e
    if [ "$rc" != "${want[$v]}" ] || ! grep -q "RESULT PASS" <<<"$out"; then
        echo "vm-boot: $v did not boot the test guest to a pass (exit $rc):" >&2
        tail -5 <<<"$out" >&2; tail -5 "$work/$v.err" >&2
        exit 1
    fi
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
declare -A t rss
for v in vessel qemu; do
    hyperfine -N -i -w 2 -r "$runs" --output=null --export-json "$work/$v.json" "${cmd[$v]}" >/dev/null 2>&1
    t[$v]=$(grep -o '"median": *[0-9.e-]*' "$work/$v.json" | head -1 | sed 's/.*: *//' | awk '{printf "%.1f", $1*1000}')
    rss[$v]=$(for i in 1 2 3 4 5; do
        { /usr/bin/time -f %M ${cmd[$v]} 2>&1 >/dev/null || true; } | tail -1
    done | median)
done

printf '\n%-8s %22s %16s %12s %12s\n' vmm "launch→exit median (ms)" "peak RSS (KiB)" "time/qemu" "RSS/qemu"
for v in vessel qemu; do
    tr=$(awk -v a="${t[$v]}" -v b="${t[qemu]}" 'BEGIN {printf "%.2fx", a/b}')
    rr=$(awk -v a="${rss[$v]}" -v b="${rss[qemu]}" 'BEGIN {printf "%.2fx", a/b}')
    printf '%-8s %22s %16s %12s %12s\n' "$v" "${t[$v]}" "${rss[$v]}" "$tr" "$rr"
done
echo "($runs runs each, the test guest with $mem MiB and 1 vCPU, $(nproc) CPUs, $(uname -r), KVM: $([ -d /sys/module/kvm_pvm ] && echo "PVM, guest ring 0 emulated" || echo hardware))"
