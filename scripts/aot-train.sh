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

# The vessel command's cache, with ./vessel's flags, from AotTraining's round of common verbs.
if [ -f "$lib/lib/vessel-cli.jar" ]; then
    rm -f "$lib/vessel.aot"
    env -u VESSEL_RUN -u VESSEL_ROOT -u VESSEL_HOST "$java" -XX:AOTCacheOutput="$lib/vessel.aot" -Xlog:disable -Xlog:all=off -XX:+UseSerialGC \
        -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xss1m -Xms8m -Xmx512m --enable-native-access=ALL-UNNAMED \
        -Dvessel.launcher="$lib/vessel-launch" -cp "$lib/lib/*" io.vessel.cli.AotTraining "$work/cli" >/dev/null
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    [ -f "$lib/vessel.aot" ]
fi
