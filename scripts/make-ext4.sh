#!/usr/bin/env bash
# make-ext4.sh DIR IMAGE [SIZE]: an ext4 disk image holding DIR's tree (mkfs.ext4 -d, e2fsprogs),
# for a VM's virtio-blk root (root=/dev/vda). SIZE (mkfs.ext4 syntax: 64M, 1G) defaults to the
# tree's size plus half again and 16 MiB for the file system's own structures. The image is built
# beside IMAGE and renamed into place, so a failure leaves no partial image.
set -euo pipefail
die() { echo "make-ext4: $*" >&2; exit 1; }
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: make-ext4.sh DIR IMAGE [SIZE]"
dir=$1 image=$2
[ -d "$dir" ] || die "$dir is not a directory"
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is missing: install e2fsprogs"
if [ $# -eq 3 ]; then
    size=$3
else
    kib=$(du -sk "$dir" | cut -f1)
    size=$(( kib + kib / 2 + 16384 ))k
fi
tmp=$(mktemp "$image.XXXXXX")
trap 'rm -f "$tmp"' EXIT
truncate -s "$size" "$tmp" || die "cannot size $tmp to $size"
mkfs.ext4 -q -F -L vessel -d "$dir" "$tmp" || die "mkfs.ext4 could not build an image of $dir in $size"
chmod 0644 "$tmp"
mv -f "$tmp" "$image"
trap - EXIT
