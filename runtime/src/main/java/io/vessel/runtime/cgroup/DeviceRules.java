package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources.DeviceRule;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * OCI device rules in the device controller's terms: the lines a v1 {@code devices.allow} or
 * {@code devices.deny} takes, and the {@link Policy} those writes leave behind, which the v2 BPF
 * program then enforces the same way.
 */
final class DeviceRules {
    // access bits: BPF_DEVCG_ACC_* in include/uapi/linux/bpf.h, the same as the v1 controller's
    static final int MKNOD = 1, READ = 2, WRITE = 4;
    static final int ALL_ACCESS = MKNOD | READ | WRITE;

    private DeviceRules() {
    }

    /** An exception to a policy's default: type 'c' or 'b', null major or minor for any, access bits. */
    record Entry(char type, Long major, Long minor, int access) {
        boolean sameDevices(Entry o) {
            return type == o.type && Objects.equals(major, o.major) && Objects.equals(minor, o.minor);
        }
    }

    /**
     * What the v1 controller holds: with a default of deny, access is allowed when one entry covers
     * the device and every access bit asked for; with a default of allow, access is denied when one
     * entry covers the device and any bit asked for.
     */
    record Policy(boolean defaultAllow, List<Entry> exceptions) {
        Policy {
            exceptions = List.copyOf(exceptions);
        }

        /** What the kernel decides for one access: {@code type} 'c' or 'b', {@code access} bits. */
        boolean allows(char type, long major, long minor, int access) {
            for (Entry e : exceptions) {
                boolean device = e.type() == type && (e.major() == null || e.major() == major)
                        && (e.minor() == null || e.minor() == minor);
                if (!device) {
                    continue;
                }
                if (!defaultAllow && (access & ~e.access()) == 0) {
                    return true;
                }
                if (defaultAllow && (access & e.access()) != 0) {
                    return false;
                }
            }
            return defaultAllow;
        }
    }

    /**
     * The v1 lines for one rule: "a" when it covers every device with every access, else one line
     * per type ("c 1:3 rwm", "*" for any major or minor). A type "a" rule that is narrower becomes
     * a "c" and a "b" line, since the kernel reads any line starting with "a" as all devices.
     */
    static List<String> v1Lines(DeviceRule r) {
        if (coversAll(r)) {
            return List.of("a");
        }
        List<String> out = new ArrayList<>();
        for (char type : types(r)) {
            out.add(type + " " + (r.major() == null ? "*" : r.major()) + ":" + (r.minor() == null ? "*" : r.minor())
                    + " " + r.access());
        }
        return out;
    }

    /** The policy the v1 controller holds after "a" is denied and then {@code rules} are written in order. */
    static Policy policy(List<DeviceRule> rules) {
        boolean defaultAllow = false;
        List<Entry> exceptions = new ArrayList<>();
        for (DeviceRule r : rules) {
            if (coversAll(r)) {
                defaultAllow = r.allow();
                exceptions.clear();
                continue;
            }
            for (char type : types(r)) {
                Entry e = new Entry(type, r.major(), r.minor(), access(r.access()));
                if (r.allow() != defaultAllow) {
                    add(exceptions, e);
                } else {
                    remove(exceptions, e);
                }
            }
        }
        return new Policy(defaultAllow, exceptions);
    }

    /** Adding merges access into an entry for the same devices, as the kernel does. */
    private static void add(List<Entry> exceptions, Entry e) {
        for (int i = 0; i < exceptions.size(); i++) {
            Entry old = exceptions.get(i);
            if (old.sameDevices(e)) {
                exceptions.set(i, new Entry(e.type(), e.major(), e.minor(), old.access() | e.access()));
                return;
            }
        }
        exceptions.add(e);
    }

    /** Removing takes access away from an entry for exactly the same devices, dropping it when none is left. */
    private static void remove(List<Entry> exceptions, Entry e) {
        for (int i = 0; i < exceptions.size(); i++) {
            Entry old = exceptions.get(i);
            if (old.sameDevices(e)) {
                int left = old.access() & ~e.access();
                if (left == 0) {
                    exceptions.remove(i);
                } else {
                    exceptions.set(i, new Entry(old.type(), old.major(), old.minor(), left));
                }
                return;
            }
        }
    }

    static int access(String rwm) {
        int bits = 0;
        for (char c : rwm.toCharArray()) {
            bits |= switch (c) {
                case 'r' -> READ;
                case 'w' -> WRITE;
                case 'm' -> MKNOD;
                default -> throw new IllegalArgumentException("device access \"" + rwm + "\" is not made of r, w, m");
            };
        }
        return bits;
    }

    private static boolean coversAll(DeviceRule r) {
        return isAny(r.type()) && r.major() == null && r.minor() == null && access(r.access()) == ALL_ACCESS;
    }

    private static char[] types(DeviceRule r) {
        return isAny(r.type()) ? new char[] {'c', 'b'} : new char[] {r.type().charAt(0)};
    }

    private static boolean isAny(String type) {
        return type == null || type.equals("a");
    }
}
