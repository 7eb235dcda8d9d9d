# The JVM flags of vessel-vmm, shared by the launcher and its AOT training run
# (scripts/aot-train-vmm.sh): a JVM uses an AOT cache only with the training run's GC, heap and
# class path.
# - -Xint: the VMM's data path is the kernel's (KVM_RUN, preadv/pwritev straight into guest RAM,
#   ioeventfd and irqfd); what runs in Java per exit or request is short. Measured on the test guest
#   (bench/vm-boot.sh's boot run, 5 runs each, 2-CPU host at load 1.6): the interpreter reached the
#   first instruction sooner than C1 (108 vs 143 ms) and the end about as soon (255 vs 240 ms), and
#   peaked at 44.8 MB RSS instead of 53.3 MB (no compiler thread, compiler arenas or compiled code).
#   A VM with heavy device traffic can have C1 back with VESSEL_VMM_JAVA_OPTS="-Xmixed
#   -XX:TieredStopAtLevel=1" (the later flag wins).
# - Serial GC, small heap: guest RAM is an mmap outside the heap; the VMM allocates little. The
#   initial heap must hold the AOT cache's archived objects (with -Xms2m the JVM refuses the cache).
# - Small metaspace, thread stacks; no perf-data file, no attach listener, no logging.
VESSEL_VMM_JVM_FLAGS=(
    -Xlog:disable -Xlog:all=off
    -Xint
    -XX:+UseSerialGC -Xms8m -Xmx32m -XX:MaxMetaspaceSize=48m
    -Xss256k -XX:-UsePerfData -XX:+DisableAttachMechanism
    --enable-native-access=ALL-UNNAMED
)
