package io.vessel.runtime.spec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The mount(8)-style options of config.json mounts, split into mount(2) flags, propagation
 * flags and the data string passed to the file system.
 */
public final class MountOption {
    // mount(2) flags, include/uapi/linux/mount.h
    public static final long MS_RDONLY = 1;
    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    public static final long MS_NOEXEC = 8;
    public static final long MS_SYNCHRONOUS = 16;
    public static final long MS_REMOUNT = 32;
    public static final long MS_MANDLOCK = 64;
    public static final long MS_DIRSYNC = 128;
    public static final long MS_NOSYMFOLLOW = 256;
    public static final long MS_NOATIME = 1024;
    public static final long MS_NODIRATIME = 2048;
    public static final long MS_BIND = 4096;
    public static final long MS_MOVE = 8192;
    public static final long MS_REC = 16384;
    public static final long MS_SILENT = 32768;
    public static final long MS_UNBINDABLE = 1 << 17;
    public static final long MS_PRIVATE = 1 << 18;
    public static final long MS_SLAVE = 1 << 19;
    public static final long MS_SHARED = 1 << 20;
    public static final long MS_RELATIME = 1 << 21;
    public static final long MS_STRICTATIME = 1 << 24;
    public static final long MS_LAZYTIME = 1 << 25;

    /** option → {set flag, clear flag}. */
    private static final Map<String, long[]> FLAGS = Map.ofEntries(
            Map.entry("ro", new long[]{MS_RDONLY, 0}), Map.entry("rw", new long[]{0, MS_RDONLY}),
            Map.entry("nosuid", new long[]{MS_NOSUID, 0}), Map.entry("suid", new long[]{0, MS_NOSUID}),
            Map.entry("nodev", new long[]{MS_NODEV, 0}), Map.entry("dev", new long[]{0, MS_NODEV}),
            Map.entry("noexec", new long[]{MS_NOEXEC, 0}), Map.entry("exec", new long[]{0, MS_NOEXEC}),
            Map.entry("sync", new long[]{MS_SYNCHRONOUS, 0}), Map.entry("async", new long[]{0, MS_SYNCHRONOUS}),
            Map.entry("dirsync", new long[]{MS_DIRSYNC, 0}), Map.entry("remount", new long[]{MS_REMOUNT, 0}),
            Map.entry("mand", new long[]{MS_MANDLOCK, 0}), Map.entry("nomand", new long[]{0, MS_MANDLOCK}),
            Map.entry("atime", new long[]{0, MS_NOATIME}), Map.entry("noatime", new long[]{MS_NOATIME, 0}),
            Map.entry("diratime", new long[]{0, MS_NODIRATIME}), Map.entry("nodiratime", new long[]{MS_NODIRATIME, 0}),
            Map.entry("bind", new long[]{MS_BIND, 0}), Map.entry("rbind", new long[]{MS_BIND | MS_REC, 0}),
            Map.entry("relatime", new long[]{MS_RELATIME, 0}), Map.entry("norelatime", new long[]{0, MS_RELATIME}),
            Map.entry("strictatime", new long[]{MS_STRICTATIME, 0}),
            Map.entry("nostrictatime", new long[]{0, MS_STRICTATIME}),
            Map.entry("lazytime", new long[]{MS_LAZYTIME, 0}), Map.entry("nolazytime", new long[]{0, MS_LAZYTIME}),
            Map.entry("symfollow", new long[]{0, MS_NOSYMFOLLOW}), Map.entry("nosymfollow", new long[]{MS_NOSYMFOLLOW, 0}),
            Map.entry("silent", new long[]{MS_SILENT, 0}), Map.entry("loud", new long[]{0, MS_SILENT}),
            Map.entry("defaults", new long[]{0, 0}));

    private static final Map<String, Long> PROPAGATION = Map.of(
            "private", MS_PRIVATE, "rprivate", MS_PRIVATE | MS_REC,
            "shared", MS_SHARED, "rshared", MS_SHARED | MS_REC,
            "slave", MS_SLAVE, "rslave", MS_SLAVE | MS_REC,
            "unbindable", MS_UNBINDABLE, "runbindable", MS_UNBINDABLE | MS_REC);

    private MountOption() {
    }

    /** The propagation flags of an option such as "rslave", or 0 if it is not one. */
    public static long propagation(String option) {
        return PROPAGATION.getOrDefault(option, 0L);
    }

    /**
     * Options parsed: flags for mount(2), propagation flags applied after it, data for the file system,
     * and runc's "tmpcopyup" (a tmpfs starts with a copy of what the directory it covers held).
     */
    // mount_setattr(2) attributes, include/uapi/linux/mount.h
    public static final long MOUNT_ATTR_RDONLY = 0x1, MOUNT_ATTR_NOSUID = 0x2, MOUNT_ATTR_NODEV = 0x4,
            MOUNT_ATTR_NOEXEC = 0x8, MOUNT_ATTR__ATIME = 0x70, MOUNT_ATTR_RELATIME = 0x0, MOUNT_ATTR_NOATIME = 0x10,
            MOUNT_ATTR_STRICTATIME = 0x20, MOUNT_ATTR_NODIRATIME = 0x80, MOUNT_ATTR_NOSYMFOLLOW = 0x200000;

    /**
     * The recursive options of runtime-spec 1.1 ("rro", "rnosuid"...): attributes set or cleared
     * on the mount and every mount below it, as {set, clear}; the access-time ones also clear the
     * other access-time modes.
     */
    private static final Map<String, long[]> RECURSIVE = Map.ofEntries(
            Map.entry("rro", new long[]{MOUNT_ATTR_RDONLY, 0}), Map.entry("rrw", new long[]{0, MOUNT_ATTR_RDONLY}),
            Map.entry("rnosuid", new long[]{MOUNT_ATTR_NOSUID, 0}), Map.entry("rsuid", new long[]{0, MOUNT_ATTR_NOSUID}),
            Map.entry("rnodev", new long[]{MOUNT_ATTR_NODEV, 0}), Map.entry("rdev", new long[]{0, MOUNT_ATTR_NODEV}),
            Map.entry("rnoexec", new long[]{MOUNT_ATTR_NOEXEC, 0}), Map.entry("rexec", new long[]{0, MOUNT_ATTR_NOEXEC}),
            Map.entry("rnodiratime", new long[]{MOUNT_ATTR_NODIRATIME, 0}),
            Map.entry("rdiratime", new long[]{0, MOUNT_ATTR_NODIRATIME}),
            Map.entry("rrelatime", new long[]{MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME}),
            Map.entry("rnorelatime", new long[]{0, 0}),
            Map.entry("rnoatime", new long[]{MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME}),
            Map.entry("ratime", new long[]{0, 0}),
            Map.entry("rstrictatime", new long[]{MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME}),
            Map.entry("rnostrictatime", new long[]{0, 0}),
            Map.entry("rnosymfollow", new long[]{MOUNT_ATTR_NOSYMFOLLOW, 0}),
            Map.entry("rsymfollow", new long[]{0, MOUNT_ATTR_NOSYMFOLLOW}));

    /** The names of the recursive options, for {@code features}. */
    public static java.util.Set<String> recursiveOptions() {
        return RECURSIVE.keySet();
    }

    public record Parsed(long flags, List<Long> propagation, String data, boolean copyUp, long recursiveSet,
                         long recursiveClear) {
        public boolean hasRecursive() {
            return recursiveSet != 0 || recursiveClear != 0;
        }
    }

    public static Parsed parse(List<String> options) {
        long flags = 0;
        List<Long> prop = new ArrayList<>();
        StringBuilder data = new StringBuilder();
        boolean copyUp = false;
        long recSet = 0;
        long recClear = 0;
        for (String o : options) {
            if (o.equals("tmpcopyup")) {
                copyUp = true;
                continue;
            }
            long[] r = RECURSIVE.get(o);
            if (r != null) {
                recClear = (recClear | r[1]) & ~r[0];
                recSet = (recSet & ~r[1]) | r[0];
                continue;
            }
            long[] f = FLAGS.get(o);
            if (f != null) {
                flags = (flags | f[0]) & ~f[1];
                continue;
            }
            long p = propagation(o);
            if (p != 0) {
                prop.add(p);
                continue;
            }
            if (o.equals("idmap") || o.equals("ridmap") || o.startsWith("x-")) {
                continue; // handled elsewhere or meant for user space tools
            }
            if (!data.isEmpty()) {
                data.append(',');
            }
            data.append(o);
        }
        return new Parsed(flags, List.copyOf(prop), data.toString(), copyUp, recSet, recClear);
    }
}
