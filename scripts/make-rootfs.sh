#!/usr/bin/env bash
# Makes a minimal root file system from busybox-static: DIR/bin/busybox, its applets, /etc basics.
set -euo pipefail
dir=${1:?usage: make-rootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "make-rootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir"/{bin,sbin,etc,proc,sys,dev,tmp,root,var,run,usr/bin,usr/sbin,home}
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for a in $("$bb" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$dir/etc/group"
printf 'vessel\n' > "$dir/etc/hostname"
