#!/usr/bin/env bash
# Builds the assets Vessel's VMs boot by default, into OUT (default build/guest):
#   vmlinuz              Debian's linux-image-cloud-amd64 kernel (a bzImage), via apt-get download
#   vmlinux              the uncompressed ELF inside it (PVH entry note), cut out of the bzImage
#   config               that kernel's configuration; kernel.release its version
#   initramfs.cpio.gz    busybox-static, the kernel's virtio modules with their dependencies,
#                        native/initramfs/init and vessel-exit (cpio newc, gzip)
#   SHA256SUMS
# Idempotent and cached: the .deb stays in OUT/cache and is checked against the SHA256 in apt's
# signed index; nothing is rebuilt while the inputs (package, busybox, init, this script) are the
# same. VESSEL_GUEST_KERNEL_PACKAGE picks another kernel metapackage (default linux-image-cloud-amd64).
# Needs: apt-get, dpkg, cpio, kmod (depmod), gcc, busybox-static, the decompressor of the kernel.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build/guest}
meta=${VESSEL_GUEST_KERNEL_PACKAGE:-linux-image-cloud-amd64}
busybox=/bin/busybox
# The virtio drivers a Vessel VM uses, and ext4 for root= disks (built in on Debian: then skipped).
wanted=(virtio_mmio virtio_blk virtio_net virtio-rng vmw_vsock_virtio_transport ext4)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0} LC_ALL=C

die() { echo "guest-assets: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb cpio depmod gcc gzip sha256sum; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --test installs the guest-asset tools)"
done
[ -x "$busybox" ] || die "$busybox is missing: install busybox-static"
readelf -d "$busybox" 2>/dev/null | grep -q 'Shared library' && die "$busybox is dynamically linked: install busybox-static"

# 1. Which kernel package, which version, which checksum: from apt's index.
kernel_package() {
    apt-cache depends "$meta" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}
pkg=$(kernel_package)
if [ -z "$pkg" ]; then
    echo "guest-assets: apt does not know $meta; updating the package lists" >&2
    apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed: is the Debian mirror reachable?"
    pkg=$(kernel_package)
    [ -n "$pkg" ] || die "apt knows no package $meta (nor the kernel it depends on)"
fi
version=$(apt-cache policy "$pkg" | awk '$1 == "Candidate:" { print $2 }')
[ -n "$version" ] && [ "$version" != "(none)" ] || die "no installable version of $pkg"
sha=$(apt-cache show "$pkg=$version" | awk '$1 == "SHA256:" { print $2; exit }')
[ -n "$sha" ] || die "apt's index has no SHA256 for $pkg $version"

# 2. The .deb, cached and checked.
mkdir -p "$out/cache"
deb="$out/cache/${pkg}_${version//:/%3a}_amd64.deb"
if [ ! -f "$deb" ] || [ "$(sha256sum < "$deb" | cut -d' ' -f1)" != "$sha" ]; then
    rm -f "$deb"
    echo "guest-assets: downloading $pkg $version" >&2
    (cd "$out/cache" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$version" >/dev/null) \
        || die "apt-get download $pkg=$version failed: is the Debian mirror reachable? (apt-get update)"
    [ -f "$deb" ] || die "apt-get download did not produce $deb"
    got=$(sha256sum < "$deb" | cut -d' ' -f1)
    [ "$got" = "$sha" ] || { rm -f "$deb"; die "$deb has SHA256 $got, apt's index says $sha"; }
fi

stamp=$( { echo "$sha"; sha256sum "$busybox" "$here/native/initramfs/init" "$here/native/initramfs/vessel-exit.c" \
    "$here/scripts/guest-assets.sh" | cut -d' ' -f1; echo "${wanted[*]}"; } | sha256sum | cut -d' ' -f1)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] && (cd "$out" && sha256sum --quiet -c SHA256SUMS 2>/dev/null); then
    echo "guest-assets: $out is up to date ($pkg $version)" >&2
    exit 0
fi

work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/pkg"
kver=$(ls "$work/pkg/lib/modules")
[ "$(echo "$kver" | wc -l)" = 1 ] || die "$pkg holds not one module tree but: $kver"
moddir="$work/pkg/lib/modules/$kver"
mkdir -p "$work/out"
cp "$work/pkg/boot/vmlinuz-$kver" "$work/out/vmlinuz"
cp "$work/pkg/boot/config-$kver" "$work/out/config"
echo "$kver" > "$work/out/kernel.release"

# 3. vmlinux: the bzImage's payload (Linux boot protocol 2.08+: payload_offset and payload_length
# in the setup header, counted from the protected-mode code at (setup_sects + 1) * 512) is the
# compressed ELF followed by its uncompressed size as 4 little-endian bytes. Decompress it, check
# the size, and cut the ELF at its end (the decompressor's relocation table follows it).
u() { od -An -t "u$2" -j "$1" -N "$2" "$3" | tr -d ' '; }
extract_vmlinux() {
    local img=$1 dst=$2
    [ "$(od -An -c -j $((0x202)) -N 4 "$img" | tr -d ' ')" = "HdrS" ] || die "$img is not a bzImage (no HdrS)"
    local proto setup_sects pm start len magic
    proto=$(u $((0x206)) 2 "$img")
    [ "$proto" -ge $((0x208)) ] || die "$img: boot protocol $(printf %x "$proto") has no payload fields (needs 2.08)"
    setup_sects=$(u $((0x1f1)) 1 "$img")
    [ "$setup_sects" -ne 0 ] || setup_sects=4
    pm=$(( (setup_sects + 1) * 512 ))
    start=$(( pm + $(u $((0x248)) 4 "$img") ))
    len=$(u $((0x24c)) 4 "$img")
    magic=$(od -An -t x1 -j "$start" -N 6 "$img" | tr -d ' ')
    local decompress
    case "$magic" in
        1f8b*) decompress="gzip -dc" ;;
        fd377a585a00) decompress="xz -dc" ;;
        02214c18*) decompress="lz4 -dc" ;;       # lz4 legacy frame (lz4 -l), as Kbuild makes it
        28b52ffd*) decompress="zstd -dc" ;;
        5d0000*) decompress="xz --format=lzma -dc" ;;
        425a68*) decompress="bzip2 -dc" ;;
        894c5a4f*) decompress="lzop -dc" ;;
        *) die "$img: unknown payload compression (magic $magic)" ;;
    esac
    command -v "${decompress%% *}" >/dev/null || die "${decompress%% *} is needed to decompress $img"
    dd if="$img" iflag=skip_bytes,count_bytes skip="$start" count=$((len - 4)) bs=1M status=none | $decompress > "$dst.raw" \
        || die "$img: ${decompress%% *} could not decompress the payload"
    local want got
    want=$(u $((start + len - 4)) 4 "$img")
    got=$(stat -c %s "$dst.raw")
    [ "$got" = "$want" ] || die "$img: payload decompressed to $got bytes, its trailer says $want"
    [ "$(od -An -t x1 -N 4 "$dst.raw" | tr -d ' ')" = "7f454c46" ] || die "$img: payload is not an ELF"
    [ "$(u 4 1 "$dst.raw")" = 2 ] || die "$img: payload is not a 64-bit ELF"
    # The ELF's end: the furthest of its section header table and its segments' file contents.
    local end phoff phentsize phnum i ph
    end=$(( $(u $((0x28)) 8 "$dst.raw") + $(u $((0x3a)) 2 "$dst.raw") * $(u $((0x3c)) 2 "$dst.raw") ))
    phoff=$(u $((0x20)) 8 "$dst.raw"); phentsize=$(u $((0x36)) 2 "$dst.raw"); phnum=$(u $((0x38)) 2 "$dst.raw")
    for ((i = 0; i < phnum; i++)); do
        ph=$((phoff + i * phentsize))
        local seg_end=$(( $(u $((ph + 8)) 8 "$dst.raw") + $(u $((ph + 0x20)) 8 "$dst.raw") ))
        [ "$seg_end" -le "$end" ] || end=$seg_end
    done
    head -c "$end" "$dst.raw" > "$dst"
    rm -f "$dst.raw"
}
extract_vmlinux "$work/out/vmlinuz" "$work/out/vmlinux"

# 4. Modules: the wanted ones that are not built in, and their dependencies, dependencies first.
depmod -b "$work/pkg" "$kver"
declare -A deps=() loaded=()
while IFS=: read -r mod rest; do deps[$mod]=$rest; done < "$moddir/modules.dep"
order=()
load() {
    local m=$1 d
    [ -z "${loaded[$m]:-}" ] || return 0
    loaded[$m]=1
    for d in ${deps[$m]}; do load "$d"; done
    order+=("$m")
}
for w in "${wanted[@]}"; do
    pattern="/(${w//[-_]/[-_]})\\.ko(\\.[a-z]+)?$"
    if grep -Eq "$pattern" "$moddir/modules.builtin"; then
        continue
    fi
    path=$(printf '%s\n' "${!deps[@]}" | grep -E "$pattern" | head -1)
    [ -n "$path" ] || die "$pkg has no module $w, built in or loadable"
    load "$path"
done

# 5. The initramfs.
root="$work/initramfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,mnt/root,etc/vessel,"lib/modules/$kver"}
cp "$busybox" "$root/bin/busybox"
"$busybox" --list-full | while read -r applet; do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
for m in "${order[@]}"; do
    mkdir -p "$root/lib/modules/$kver/$(dirname "$m")"
    cp "$moddir/$m" "$root/lib/modules/$kver/$m"
done
printf '%s\n' "${order[@]}" > "$root/etc/vessel/modules"
cp "$moddir/modules.builtin" "$moddir/modules.builtin.modinfo" "$moddir/modules.order" "$root/lib/modules/$kver/"
depmod -b "$root" "$kver"
install -m 0755 "$here/native/initramfs/init" "$root/init"
gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -Os -Wall -Werror \
    -o "$root/bin/vessel-exit" "$here/native/initramfs/vessel-exit.c"
if [ "$(id -u)" = 0 ]; then # the console before devtmpfs is mounted (init re-opens it after)
    mknod -m 600 "$root/dev/console" c 5 1
    mknod -m 666 "$root/dev/null" c 1 3
fi
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$root" && find . -print0 | sort -z | cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) \
    | gzip -9n > "$work/out/initramfs.cpio.gz"

# 6. Into place, then the checksums and the stamp.
(cd "$work/out" && sha256sum vmlinuz vmlinux config kernel.release initramfs.cpio.gz > SHA256SUMS)
rm -f "$out/.stamp"
for f in "$work/out"/*; do mv -f "$f" "$out/"; done
echo "$stamp" > "$out/.stamp"
echo "guest-assets: $out: $pkg $version ($kver), modules: ${order[*]}" >&2
