# The JVM flags of vessel-vmm, shared by the launcher and its AOT training run (scripts/aot-train.sh):
# an AOT cache is only used by a JVM whose flags match the training run's in GC and class path.
# Sizes measured with the test guest: its VMM's heap stays under 4 MiB and metaspace under 8 MiB.
# The initial heap must hold the AOT cache's archived objects (with -Xms2m the JVM refuses the cache).
VESSEL_VMM_JVM_FLAGS=(
    -Xlog:disable -Xlog:all=off
    -XX:+UseSerialGC -Xms8m -Xmx32m -XX:MaxMetaspaceSize=48m
    -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:ReservedCodeCacheSize=16m
    -Xss256k -XX:-UsePerfData -XX:+DisableAttachMechanism
    --enable-native-access=ALL-UNNAMED
)
