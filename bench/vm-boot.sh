#!/usr/bin/env bash
# Vessel's VMM (./vessel-vmm --no-api --config-file) against `qemu-system-x86_64 -M microvm
# -enable-kvm`, booting the same test guest (native/guests/test-guest.elf through its PVH entry),
# each timed from outside the same way by bench/vmtime.c:
#  - launch → first instruction: the guest's first instruction is followed by a newline on COM1;
#    vmtime timestamps the first byte of the VMM's stdout (the console) from before fork;
#  - launch → power-off: the guest checks its boot state and exits through the debug port
#    (QEMU: isa-debug-exit at 0x501); vmtime timestamps the VMM's exit (wait4), teardown included;
#  - peak RSS: ru_maxrss of those boot runs;
#  - virtio-blk throughput: the guest (blk_bench) reads a DISK_MIB image of random bytes
#    sequentially in 512 KiB requests, 4 in flight, between two console markers that vmtime
#    timestamps. If this build's vessel-vmm does not attach drives, Vessel's block runs go through
#    `vessel vm run --disk` (the same Vm and BlockDevice; only the process's launcher differs), and
#    the table says so.
# RUNS runs of each kind for each VMM, alternating, medians, Vessel's ratios to QEMU. The host's load
# is printed: on a busy host the numbers move a lot. KINDS="blk" (or "boot") runs one kind only.
# Needs /dev/kvm, qemu-system-x86 (scripts/install-deps.sh --test), gcc, a JDK 25 and Maven.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
kinds=${KINDS:-boot blk}
case " $kinds " in *" boot "*|*" blk "*) ;; *) echo "vm-boot: KINDS must name boot and/or blk, not '$kinds'" >&2; exit 1;; esac
has_kind() { [[ " $kinds " == *" $1 "* ]]; }
mem=${MEM_MIB:-64}
disk_mib=${DISK_MIB:-64}
# A run that takes longer than this is a hang (a guest that never exits), not a measurement.
timeout_s=${TIMEOUT_S:-60}
work=$(mktemp -d /tmp/vessel-vm-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -w /dev/kvm ] || { echo "vm-boot: /dev/kvm is not accessible; a VM benchmark needs KVM" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm-boot: qemu-system-x86_64 is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
make -s -C "$here" build/lib/vessel-runtime.jar build/guests/test-guest.elf build/vessel-vmm.aot
guest="$here/build/guests/test-guest.elf"
gcc -O2 -Wall -o "$work/vmtime" "$here/bench/vmtime.c"
head -c $((disk_mib << 20)) /dev/urandom > "$work/disk.img"

vmm_config() { # FILE CMDLINE [DRIVE]
    local drives=""
    [ -n "${3:-}" ] && drives="\"drives\": [{\"drive_id\": \"bench\", \"path_on_host\": \"$3\", \"is_root_device\": false, \"is_read_only\": true}],"
    cat > "$1" <<JSON
{"boot-source": {"kernel_image_path": "$guest", "boot_args": "$2"}, $drives
 "machine-config": {"vcpu_count": 1, "mem_size_mib": $mem}}
JSON
}
vmm_config "$work/boot.json" "vessel-test"
vmm_config "$work/blk.json" "vessel-test blk_bench" "$work/disk.img"
# QEMU: ioapic2=off puts the virtio-mmio transports on the first IOAPIC (the guest drives only
# that one), the last of 8 transports (0xfeb00e00, IRQ 5+7) holding the only device; the guest
# finds it on the command line as Linux would; force-legacy=false gives virtio 1 (version 2).
qemu=(qemu-system-x86_64 -M microvm,ioapic2=off -enable-kvm -m "$mem" -smp 1 -nodefaults -no-user-config
      -nographic -serial stdio -kernel "$guest" -device isa-debug-exit,iobase=0x501)
qemu_blk=(-global virtio-mmio.force-legacy=false -drive "file=$work/disk.img,if=none,id=d,format=raw,readonly=on"
          -device virtio-blk-device,drive=d)
qemu_blk_cmdline="vessel-test blk_bench virtio_mmio.device=512@0xfeb00e00:12"
vessel=("$here/vessel-vmm" --no-api)
vessel_blk_fallback=("$here/vessel" vm run --kernel "$guest" --cmdline "vessel-test blk_bench"
                     --disk "$work/disk.img,ro" --memory "${mem}M")

# One measured run: KIND (boot|blk) VMM (vessel|qemu); appends vmtime's line to $work/KIND-VMM.
# QEMU's exit status through isa-debug-exit is (status << 1) | 1, so a passing guest exits QEMU with 1.
vessel_blk_via=vessel-vmm
run_one() {
    local kind=$1 vmm=$2 want cmd
    case $vmm-$kind in
        vessel-boot) cmd=("${vessel[@]}" --config-file "$work/boot.json"); want=0;;
        vessel-blk) if [ "$vessel_blk_via" = vessel-vmm ]; then cmd=("${vessel[@]}" --config-file "$work/blk.json");
                    else cmd=("${vessel_blk_fallback[@]}"); fi; want=0;;
        qemu-boot) cmd=("${qemu[@]}" -append vessel-test); want=1;;
        qemu-blk) cmd=("${qemu[@]}" "${qemu_blk[@]}" -append "$qemu_blk_cmdline"); want=1;;
    esac
    local line
    line=$(timeout "$timeout_s" "$work/vmtime" "$work/console" "${cmd[@]}" 2>"$work/stderr") || true
    if [[ "$line" != *"status=$want"* ]] || ! grep -q "RESULT PASS" "$work/console"; then
        echo "vm-boot: $vmm ($kind) did not run the test guest to a pass: ${line:-timed out after ${timeout_s}s}" >&2
        tail -5 "$work/console" "$work/stderr" >&2
        return 1
    fi
    if [ "$kind" = blk ] && [[ "$line" != *blk_ms=* ]]; then
        return 2
    fi
    echo "$line" >> "$work/$kind-$vmm"
}

# Warm-up (caches, page cache of the image and the jars), and which path Vessel's block runs take.
if has_kind boot; then
    for vmm in vessel qemu; do run_one boot $vmm; done
fi
if has_kind blk; then
    run_one blk qemu
    rc=0
    run_one blk vessel || rc=$?
    case $rc in
        0) ;;
        2) vessel_blk_via="vessel vm run"; run_one blk vessel;;
        *) exit 1;;
    esac
fi
rm -f "$work"/boot-* "$work"/blk-*
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq "$runs"); do
    for vmm in vessel qemu; do
        if has_kind boot; then run_one boot $vmm; fi
        if has_kind blk; then run_one blk $vmm; fi
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { grep -o "$1=[0-9.]*" "$2" | cut -d= -f2; }
declare -A first exit_ rss mbs
for vmm in vessel qemu; do
    first[$vmm]=-; exit_[$vmm]=-; rss[$vmm]=-; mbs[$vmm]=-
    if has_kind boot; then
        first[$vmm]=$(field first_ms "$work/boot-$vmm" | median)
        exit_[$vmm]=$(field exit_ms "$work/boot-$vmm" | median)
        rss[$vmm]=$(field rss_kib "$work/boot-$vmm" | median)
    fi
    if has_kind blk; then
        mbs[$vmm]=$(paste -d' ' <(field blk_bytes "$work/blk-$vmm") <(field blk_ms "$work/blk-$vmm") \
            | awk '{printf "%.1f\n", $1 / 1048576 / ($2 / 1000)}' | median)
    fi
done
ratio() { if [ "$1" = - ]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}'; fi; }
printf '\n%-8s %18s %18s %16s %16s\n' vmm "launch→1st insn ms" "launch→exit ms" "peak RSS KiB" "blk MiB/s"
for vmm in vessel qemu; do
    printf '%-8s %18s %18s %16s %16s\n' "$vmm" "${first[$vmm]}" "${exit_[$vmm]}" "${rss[$vmm]}" "${mbs[$vmm]}"
done
printf '%-8s %18s %18s %16s %16s\n' "ratio" "$(ratio "${first[vessel]}" "${first[qemu]}")" \
    "$(ratio "${exit_[vessel]}" "${exit_[qemu]}")" "$(ratio "${rss[vessel]}" "${rss[qemu]}")" \
    "$(ratio "${mbs[vessel]}" "${mbs[qemu]}")"
echo "targets: times and RSS at most 0.50x of QEMU's, throughput at least 1.00x"
echo "($runs runs of each kind per VMM, medians; the test guest with $mem MiB and 1 vCPU; a ${disk_mib} MiB image read in"
echo " 512 KiB requests, 4 in flight; Vessel's block runs through $vessel_blk_via; $(nproc) CPUs, load $load_before → $load_after;"
echo " $(uname -r), KVM: $([ -d /sys/module/kvm_pvm ] && echo "PVM, the guest's ring-0 code emulated for both" || echo hardware);" \
     "$(qemu-system-x86_64 --version | head -1))"
