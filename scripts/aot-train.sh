#!/usr/bin/env bash
# Makes the JDK 25 AOT cache for vessel-runtime by running one container's whole life in one JVM
# (classes loaded and linked, FFM call sites resolved), with the same JVM flags as ./vessel-runtime.
# usage: aot-train.sh LIBDIR   (LIBDIR has lib/*.jar and vessel-launch; the cache is written there)
set -euo pipefail
lib=$(cd "${1:?usage: aot-train.sh LIBDIR}" && pwd)
here=$(dirname "$(readlink -f "$0")")
. "$here/jdk.sh"
java=$(vessel_find_jdk)/bin/java
if [ "$(id -u)" != 0 ]; then
    echo "vessel: not root, so no AOT training run (containers need root); start-up will be slower" >&2
    exit 1
fi
work=$(mktemp -d /tmp/vessel-aot.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/make-rootfs.sh" "$work/bundle/rootfs" >/dev/null
rm -f "$lib/vessel-runtime.aot"
"$java" -XX:AOTCacheOutput="$lib/vessel-runtime.aot" -Xlog:disable -Xlog:all=off -XX:+UseSerialGC \
    -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xss512k -Xms4m -Xmx96m -XX:CICompilerCount=1 -XX:CompileThresholdScaling=20 \
    --enable-native-access=ALL-UNNAMED -Dvessel.launcher="$lib/vessel-launch" \
    -cp "$lib/lib/vessel-linux.jar:$lib/lib/vessel-runtime.jar" io.vessel.runtime.cli.AotTraining \
    "$work/bundle" "$work/state" >/dev/null
[ -f "$lib/vessel-runtime.aot" ]

# The vessel command's caches, from AotTraining's round of common verbs: the client's (vessel.aot,
# with ./vessel's flags for a command) and the daemon's (vessel-daemon.aot, with its flags for a
# daemon), made by the daemon that the training's first command starts through the wrapper below
# and that is stopped at the end (a JVM writes its cache as it exits). Two caches: a JVM loads every
# class of its cache at start, and a command needs few of the daemon's.
if [ -f "$lib/lib/vessel-cli.jar" ]; then
    rm -f "$lib/vessel.aot" "$lib/vessel-daemon.aot"
    cat > "$work/vessel-daemon" <<SH
#!/bin/sh
exec "$java" -XX:AOTCacheOutput="$lib/vessel-daemon.aot" -Xlog:disable -Xlog:all=off -XX:+UseSerialGC -Xss1m -Xms32m \\
    -Xmx2g -XX:-UsePerfData --enable-native-access=ALL-UNNAMED -Dvessel.launcher="$lib/vessel-launch" -cp "$lib/lib/*" \\
    io.vessel.cli.Main "\$@"
SH
    chmod +x "$work/vessel-daemon"
    env -u VESSEL_RUN -u VESSEL_ROOT -u VESSEL_HOST "$java" -XX:AOTCacheOutput="$lib/vessel.aot" -Xlog:disable -Xlog:all=off -XX:+UseSerialGC \
        -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:CompileThresholdScaling=20 -XX:-UsePerfData -Xss1m -Xms8m -Xmx512m \
        --enable-native-access=ALL-UNNAMED \
        -Dvessel.command="$work/vessel-daemon" -Dvessel.launcher="$lib/vessel-launch" -cp "$lib/lib/*" \
        io.vessel.cli.AotTraining "$work/cli" >/dev/null
    pid=$(cat "$work/cli/root/daemon.lock" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 900); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    # the default bridge and nftables table of the training root (NetworksConfig: named from its path's SHA-256)
    tag=$(printf '%s' "$work/cli/root" | sha256sum | cut -c1-10)
    ip link del "vs$tag" 2>/dev/null || true
    nft delete table ip "vessel_$tag" 2>/dev/null || true
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    [ -f "$lib/vessel.aot" ] && [ -f "$lib/vessel-daemon.aot" ]
fi
