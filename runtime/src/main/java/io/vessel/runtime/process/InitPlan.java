package io.vessel.runtime.process;

import io.vessel.linux.Files;
import io.vessel.runtime.seccomp.SeccompCompiler;
import io.vessel.runtime.spec.Capability;
import io.vessel.runtime.spec.MountOption;
import io.vessel.runtime.spec.RlimitType;
import io.vessel.runtime.spec.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns a container's configuration into the launcher's plan. Every decision about how a
 * container is made (namespace order, mounts, devices, what happens before and after
 * pivot_root, when seccomp is loaded) is taken here; the launcher only performs the steps.
 */
public final class InitPlan {
    // clone(2) flags, include/uapi/linux/sched.h
    static final long CLONE_NEWTIME = 0x80, CLONE_NEWNS = 0x20000, CLONE_NEWCGROUP = 0x02000000,
            CLONE_NEWUTS = 0x04000000, CLONE_NEWIPC = 0x08000000, CLONE_NEWUSER = 0x10000000,
            CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000;
    /** Clock ids for /proc/self/timens_offsets (include/uapi/linux/time.h). */
    private static final int CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7;
    /** The exec FIFO's name inside the state directory: the init blocks opening it until start. */
    public static final String EXEC_FIFO = "exec.fifo";

    /** Devices every container gets (the OCI spec's default devices). */
    private static final List<Spec.Device> DEFAULT_DEVICES = List.of(
            new Spec.Device("c", "/dev/null", 1, 3, 0666, 0, 0),
            new Spec.Device("c", "/dev/zero", 1, 5, 0666, 0, 0),
            new Spec.Device("c", "/dev/full", 1, 7, 0666, 0, 0),
            new Spec.Device("c", "/dev/random", 1, 8, 0666, 0, 0),
            new Spec.Device("c", "/dev/urandom", 1, 9, 0666, 0, 0),
            new Spec.Device("c", "/dev/tty", 5, 0, 0666, 0, 0));

    private InitPlan() {
    }

    /** What create needs besides the spec: where things are and which launcher slots hold what. */
    public record CreateContext(
            Path rootfs,
            Path bundle,
            Path stateDir,
            boolean noPivot,
            int preserved,
            String consoleSocket,
            boolean foreground,
            List<String> cgroupProcsFiles,
            Map<String, String> cgroupPaths,
            String sessionKeyring) { // null: keep the caller's session keyring (--no-new-keyring)
    }

    public static long namespaceFlag(String type) {
        return switch (type) {
            case "user" -> CLONE_NEWUSER;
            case "pid" -> CLONE_NEWPID;
            case "network" -> CLONE_NEWNET;
            case "ipc" -> CLONE_NEWIPC;
            case "uts" -> CLONE_NEWUTS;
            case "mount" -> CLONE_NEWNS;
            case "cgroup" -> CLONE_NEWCGROUP;
            case "time" -> CLONE_NEWTIME;
            default -> throw new IllegalArgumentException("namespace type " + type);
        };
    }

    /** The /proc/PID/ns file name of a namespace type. */
    public static String procName(String type) {
        return switch (type) {
            case "network" -> "net";
            case "mount" -> "mnt";
            default -> type;
        };
    }

    /** The plan of a container's init process, from joining its cgroup to exec. */
    public static Plan forCreate(Spec spec, CreateContext ctx) {
        Spec.Process proc = spec.process();
        if (proc == null) {
            throw new IllegalArgumentException("config.json: process is required to create a container");
        }
        if (spec.namespace("mount") == null) {
            throw new IllegalArgumentException(
                    "config.json: linux.namespaces must contain a mount namespace: without one the container's mounts would change the host");
        }
        Plan plan = new Plan();
        plan.add(Op.CONFIG, ctx.preserved());
        int fifoSlot = Launcher.slotBase(ctx.preserved());
        int consoleSlot = fifoSlot + 1;
        // The init blocks opening this FIFO until start; the state directory is out of sight
        // after pivot_root, so it keeps a descriptor opened now. That of the FIFO itself, reopened
        // through the container's /proc: a directory of the host's would be reachable from the
        // container through /proc/1/fd (CAP_SYS_PTRACE) until start. Without a /proc, the directory.
        plan.add(Op.MKFIFO, ctx.stateDir().resolve(EXEC_FIFO).toString(), 0622);
        boolean procMounted = spec.mounts().stream()
                .anyMatch(m -> "proc".equals(m.type()) && m.destination().equals("/proc"));
        plan.add(Op.OPEN_PATH, fifoSlot, procMounted ? ctx.stateDir().resolve(EXEC_FIFO).toString()
                : ctx.stateDir().toString());
        if (proc.terminal()) {
            plan.add(Op.CONNECT, consoleSlot, ctx.consoleSocket());
        }
        SeccompLoad seccomp = seccomp(spec, plan, fifoSlot + 2, null);
        for (String procs : ctx.cgroupProcsFiles()) {
            plan.add(Op.JOIN_CGROUP, procs);
        }
        launcherSetup(plan, proc);
        long cloneFlags = 0;
        boolean newUserNs = false;
        for (String type : Spec.NAMESPACE_TYPES) {
            Spec.Namespace ns = spec.namespace(type);
            if (ns == null) {
                continue;
            }
            if (ns.path() != null) {
                plan.add(Op.SETNS, ns.path(), namespaceFlag(type));
            } else if (type.equals("time")) {
                // A time namespace is entered by the children of the process that unshares it.
                plan.add(Op.UNSHARE, CLONE_NEWTIME);
                StringBuilder offsets = new StringBuilder();
                spec.linux().timeOffsets().forEach((clock, off) -> offsets
                        .append(clock.equals("monotonic") ? CLOCK_MONOTONIC : CLOCK_BOOTTIME)
                        .append(' ').append(off.secs()).append(' ').append(off.nanosecs()).append('\n'));
                if (!offsets.isEmpty()) {
                    plan.add(Op.WRITE_FILE, "/proc/self/timens_offsets", offsets.toString());
                }
            } else {
                cloneFlags |= namespaceFlag(type);
                newUserNs |= type.equals("user");
            }
        }
        plan.add(Op.CLONE, cloneFlags,
                newUserNs ? idMap(spec.linux().uidMappings()) : "",
                newUserNs ? idMap(spec.linux().gidMappings()) : "",
                "", // root writes the maps, so setgroups stays allowed for additionalGids
                ctx.foreground());

        // ---- the container's init, in its new namespaces ----
        if (newUserNs) {
            plan.add(Op.USER, 0, 0);
        }
        plan.add(Op.SETSID);
        if (ctx.sessionKeyring() != null) {
            // as runc: the container's processes do not share the caller's session keyring
            plan.add(Op.JOIN_KEYRING, ctx.sessionKeyring());
        }
        if (spec.hostname() != null) {
            plan.add(Op.SETHOSTNAME, spec.hostname());
        }
        if (spec.domainname() != null) {
            plan.add(Op.SETDOMAINNAME, spec.domainname());
        }
        rootfs(plan, spec, ctx, newUserNs);

        List<Spec.Hook> createContainer = spec.hooks().createContainer();
        if (!spec.hooks().prestart().isEmpty() || !spec.hooks().createRuntime().isEmpty()
                || !createContainer.isEmpty() || !spec.hooks().startContainer().isEmpty()
                || (seccomp != null && seccomp.listenerSlot() >= 0)) {
            // Java runs prestart and createRuntime in the runtime's namespaces, and sends the state
            // (which createContainer and startContainer hooks and a seccomp agent receive).
            plan.add(Op.SYNC, "hooks");
        }
        for (Spec.Hook h : createContainer) {
            hook(plan, h);
        }
        String root = ctx.rootfs().toString();
        plan.add(ctx.noPivot() ? Op.MOVE_CHROOT : Op.PIVOT_ROOT, root);
        String rootPropagation = spec.linux().rootfsPropagation();
        if (rootPropagation != null && (MountOption.propagation(rootPropagation) & MountOption.MS_PRIVATE) == 0) {
            // On the root once it is "/": set before pivot_root, a shared root would take the host along.
            plan.add(Op.ROOT_PROPAGATION, MountOption.propagation(rootPropagation));
        }

        if (proc.terminal()) {
            plan.add(Op.CONSOLE, consoleSlot, 1, proc.consoleHeight(), proc.consoleWidth());
        }
        spec.linux().sysctl().forEach((key, value) ->
                plan.add(Op.WRITE_FILE, "/proc/sys/" + key.replace('.', '/'), value));
        for (String p : spec.linux().readonlyPaths()) {
            plan.add(Op.READONLY, p, 1);
        }
        for (String p : spec.linux().maskedPaths()) {
            plan.add(Op.MASK, p);
        }
        if (spec.root().readonly()) {
            plan.add(Op.READONLY, "/", 0);
        }
        processSetup(plan, spec, proc);
        // Credentials before start, as runc: create reports what fails, and start only runs.
        credentials(plan, proc, seccomp);
        plan.add(Op.WAIT_START, fifoSlot, procMounted ? "" : EXEC_FIFO);
        for (Spec.Hook h : spec.hooks().startContainer()) {
            hook(plan, h);
        }
        execute(plan, proc, seccomp);
        return plan;
    }

    /** What exec needs: the container's namespaces to join and the launcher slots. */
    public record ExecContext(
            List<String[]> namespacesToJoin, // {path, type}
            List<String> cgroupProcsFiles,
            int preserved,
            String consoleSocket,
            boolean foreground,
            String sessionKeyring, // the container's, joined by name; null: keep the caller's
            String containerState) { // the OCI state, for a seccomp agent
    }

    /** The plan of a process started in a running container. */
    public static Plan forExec(Spec spec, Spec.Process proc, ExecContext ctx) {
        Plan plan = new Plan();
        plan.add(Op.CONFIG, ctx.preserved());
        int consoleSlot = Launcher.slotBase(ctx.preserved()) + 1;
        if (proc.terminal()) {
            plan.add(Op.CONNECT, consoleSlot, ctx.consoleSocket()); // before joining the mount namespace
        }
        SeccompLoad seccomp = seccomp(spec, plan, consoleSlot + 1, ctx.containerState());
        for (String procs : ctx.cgroupProcsFiles()) {
            plan.add(Op.JOIN_CGROUP, procs);
        }
        launcherSetup(plan, proc);
        for (String[] ns : ctx.namespacesToJoin()) {
            plan.add(Op.SETNS, ns[0], namespaceFlag(ns[1]));
        }
        plan.add(Op.CLONE, 0, "", "", "", ctx.foreground());
        if (ctx.sessionKeyring() != null) {
            for (String[] ns : ctx.namespacesToJoin()) {
                if (ns[1].equals("user")) {
                    // the container's root owns its keyring: only it may find the keyring by name
                    plan.add(Op.USER, 0, 0);
                }
            }
            plan.add(Op.JOIN_KEYRING, ctx.sessionKeyring());
        }
        if (proc.terminal()) {
            plan.add(Op.CONSOLE, consoleSlot, 0, proc.consoleHeight(), proc.consoleWidth());
        }
        processSetup(plan, spec, proc);
        credentials(plan, proc, seccomp);
        execute(plan, proc, seccomp);
        return plan;
    }

    /**
     * What the launcher does for itself before it joins or makes any namespace: it becomes
     * non-dumpable, so that nothing in the container can ptrace it or reach its /proc files (and
     * its children inherit that), and sets the oom score they inherit (the container's process
     * could not write its own /proc file once non-dumpable in a user namespace).
     */
    private static void launcherSetup(Plan plan, Spec.Process proc) {
        plan.add(Op.DUMPABLE, 0);
        if (proc.oomScoreAdj() != null) {
            plan.add(Op.WRITE_FILE, "/proc/self/oom_score_adj", proc.oomScoreAdj().toString());
        }
    }

    /** personality(2) domains, include/uapi/linux/personality.h. */
    private static final int PER_LINUX = 0x0000, PER_LINUX32 = 0x0008;

    /** personality, rlimits, umask, cwd, the program's path. */
    private static void processSetup(Plan plan, Spec spec, Spec.Process proc) {
        if (spec.linux().personality() != null) {
            plan.add(Op.PERSONALITY, spec.linux().personality().equals("LINUX32") ? PER_LINUX32 : PER_LINUX);
        }
        for (Spec.Rlimit r : proc.rlimits()) {
            plan.add(Op.SETRLIMIT, RlimitType.number(r.type()), Long.toUnsignedString(r.soft()),
                    Long.toUnsignedString(r.hard()));
        }
        if (proc.user().umask() != null) {
            plan.add(Op.UMASK, proc.user().umask());
        }
        plan.add(Op.CHDIR, proc.cwd());
        String path = proc.getenv("PATH");
        plan.add(Op.LOOKUP_EXEC, proc.args().getFirst(), path == null ? "" : path);
    }

    /**
     * The compiled filter and, when a rule notifies a user-space agent, where its listener goes:
     * a connection to {@code linux.seccomp.listenerPath} made now (before any namespace), the
     * metadata as a JSON string, and the container state to send (null: the one create syncs).
     */
    record SeccompLoad(SeccompCompiler.Program program, int listenerSlot, String metadataJson, String state) {
        Object[] args() {
            return new Object[]{program.flags(), program.filter(), listenerSlot, metadataJson,
                    state == null ? "" : state};
        }
    }

    private static SeccompLoad seccomp(Spec spec, Plan plan, int listenerSlot, String state) {
        Spec.Seccomp profile = spec.linux().seccomp();
        if (profile == null) {
            return null;
        }
        SeccompCompiler.Program program = SeccompCompiler.compile(profile);
        if (!program.needsListener()) {
            return new SeccompLoad(program, -1, "", state);
        }
        plan.add(Op.CONNECT, listenerSlot, profile.listenerPath());
        String metadata = profile.listenerMetadata() == null ? "" : io.vessel.json.Json.write(profile.listenerMetadata());
        return new SeccompLoad(program, listenerSlot, metadata, state);
    }

    /** Seccomp (without no_new_privs), user, capabilities, no_new_privs: in the order that keeps each step possible. */
    private static void credentials(Plan plan, Spec.Process proc, SeccompLoad seccomp) {
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it.
        if (seccomp != null && !proc.noNewPrivileges()) {
            plan.add(Op.SECCOMP, seccomp.args());
        }
        List<Object> user = new ArrayList<>();
        user.add(proc.user().uid());
        user.add(proc.user().gid());
        user.addAll(proc.user().additionalGids());
        plan.add(Op.USER, user.toArray());
        Spec.Capabilities caps = proc.capabilities();
        if (caps != null) {
            plan.add(Op.CAPS, hex(Capability.mask(caps.bounding())), hex(Capability.mask(caps.effective())),
                    hex(Capability.mask(caps.permitted())), hex(Capability.mask(caps.inheritable())),
                    hex(Capability.mask(caps.ambient())));
        }
        if (proc.noNewPrivileges()) {
            plan.add(Op.NO_NEW_PRIVS);
        }
    }

    /** Seccomp with no_new_privs, as close to exec as it can be; then exec. */
    private static void execute(Plan plan, Spec.Process proc, SeccompLoad seccomp) {
        if (seccomp != null && proc.noNewPrivileges()) {
            plan.add(Op.SECCOMP, seccomp.args());
        }
        plan.addCounted(Op.EXEC, List.of(), List.of(proc.args(), proc.env()));
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    private static void hook(Plan plan, Spec.Hook h) {
        plan.addCounted(Op.RUN_HOOK, List.of(h.timeoutSeconds(), h.path()), List.of(h.args(), h.env()));
    }

    private static String idMap(List<Spec.IdMapping> maps) {
        StringBuilder sb = new StringBuilder();
        for (Spec.IdMapping m : maps) {
            sb.append(m.containerID()).append(' ').append(m.hostID()).append(' ').append(m.size()).append('\n');
        }
        return sb.toString();
    }

    /** Root propagation, the rootfs bind, the mounts in order, /dev. */
    private static void rootfs(Plan plan, Spec spec, CreateContext ctx, boolean newUserNs) {
        String root = ctx.rootfs().toString();
        long propagation = spec.linux().rootfsPropagation() == null ? MountOption.MS_SLAVE | MountOption.MS_REC
                : MountOption.propagation(spec.linux().rootfsPropagation());
        plan.add(Op.ROOT_PROPAGATION, propagation);
        boolean stillShared = (propagation & MountOption.MS_REC) == 0
                || (propagation & (MountOption.MS_SLAVE | MountOption.MS_PRIVATE)) == 0;
        String holder = stillShared ? sharedMountHolding(ctx.rootfs()) : null;
        if (holder != null) {
            // The mount holding the rootfs must not be shared: the rootfs bind and all that is
            // mounted on it would show up on the host, and pivot_root refuses a shared parent.
            plan.add(Op.MOUNT, "/", holder, "none", "", "", MountOption.MS_PRIVATE, "", 0, "");
        }
        plan.add(Op.MOUNT, "/", root, "none", root, "", MountOption.MS_BIND | MountOption.MS_REC, "", 0, "");
        boolean devMounted = false;
        boolean devptsMounted = false;
        for (Spec.Mount m : spec.mounts()) {
            mount(plan, spec, ctx, m, newUserNs);
            devMounted |= m.destination().equals("/dev") && !m.isBind();
            devptsMounted |= m.destination().equals("/dev/pts");
        }
        List<Spec.Device> devices = new ArrayList<>();
        if (devMounted) {
            devices.addAll(DEFAULT_DEVICES);
        }
        for (Spec.Device d : spec.linux().devices()) {
            devices.removeIf(x -> x.path().equals(d.path()));
            devices.add(d);
        }
        for (Spec.Device d : devices) {
            device(plan, root, d, newUserNs);
        }
        if (devMounted) {
            plan.add(Op.SYMLINK, root, "/dev/fd", "/proc/self/fd");
            plan.add(Op.SYMLINK, root, "/dev/stdin", "/proc/self/fd/0");
            plan.add(Op.SYMLINK, root, "/dev/stdout", "/proc/self/fd/1");
            plan.add(Op.SYMLINK, root, "/dev/stderr", "/proc/self/fd/2");
            if (devptsMounted) {
                plan.add(Op.SYMLINK, root, "/dev/ptmx", "pts/ptmx");
            }
        }
    }

    /** The host mount point holding {@code path} (the last-mounted longest prefix) if that mount is shared, else null. */
    static String sharedMountHolding(Path path) {
        String p;
        List<String> lines;
        try {
            p = path.toRealPath().toString();
            lines = java.nio.file.Files.readAllLines(Path.of("/proc/self/mountinfo"));
        } catch (java.io.IOException e) {
            return null;
        }
        String best = null;
        boolean shared = false;
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length < 7) {
                continue;
            }
            String mp = io.vessel.linux.MountTable.unescape(f[4]);
            boolean holds = mp.equals("/") || p.equals(mp) || p.startsWith(mp + "/");
            if (holds && (best == null || mp.length() >= best.length())) {
                best = mp;
                shared = false;
                for (int i = 6; i < f.length && !f[i].equals("-"); i++) {
                    shared |= f[i].startsWith("shared:");
                }
            }
        }
        return shared ? best : null;
    }

    private static void device(Plan plan, String root, Spec.Device d, boolean newUserNs) {
        if (newUserNs) {
            // mknod is not allowed in a user namespace: bind the host's node instead.
            plan.add(Op.MOUNT, root, d.path(), "file", d.path(), "", MountOption.MS_BIND, "", 0, "");
            return;
        }
        int type = switch (d.type()) {
            case "b" -> Files.S_IFBLK;
            case "p" -> Files.S_IFIFO;
            default -> Files.S_IFCHR;
        };
        plan.add(Op.MKNOD, root, d.path(), type | d.fileMode(), Files.makedev(d.major(), d.minor()), d.uid(), d.gid());
    }

    private static void mount(Plan plan, Spec spec, CreateContext ctx, Spec.Mount m, boolean newUserNs) {
        MountOption.Parsed opts = MountOption.parse(m.options());
        mountOne(plan, spec, ctx, m, opts, newUserNs);
        if (opts.hasRecursive()) {
            // "rro" and kin: on the mount and every mount below it (mount_setattr with AT_RECURSIVE)
            plan.add(Op.MOUNT_SETATTR, ctx.rootfs().toString(), m.destination(), opts.recursiveSet(),
                    opts.recursiveClear());
        }
    }

    private static void mountOne(Plan plan, Spec spec, CreateContext ctx, Spec.Mount m, MountOption.Parsed opts,
                                 boolean newUserNs) {
        String root = ctx.rootfs().toString();
        StringBuilder propagation = new StringBuilder();
        for (long p : opts.propagation()) {
            propagation.append(propagation.isEmpty() ? "" : ",").append(p);
        }
        String props = propagation.toString();
        if ("cgroup".equals(m.type()) || "cgroup2".equals(m.type())) {
            cgroupMount(plan, spec, ctx, m, opts);
            return;
        }
        if (m.isBind()) {
            String source = m.source() == null ? "" : m.source();
            Path src = Path.of(source);
            if (!src.isAbsolute()) {
                src = ctx.bundle().resolve(src);
            }
            String mkmode = java.nio.file.Files.isDirectory(src) ? "dir" : "file";
            long bindFlags = MountOption.MS_BIND | (opts.flags() & MountOption.MS_REC);
            long rest = opts.flags() & ~(MountOption.MS_BIND | MountOption.MS_REC);
            long remount = rest != 0 ? MountOption.MS_BIND | MountOption.MS_REMOUNT | rest : 0;
            plan.add(Op.MOUNT, root, m.destination(), mkmode, src.toString(), "", bindFlags, "", remount, props);
            return;
        }
        String type = m.type();
        if (type.equals("sysfs") && newUserNs && spec.namespace("network") == null) {
            // sysfs may only be mounted by the owner of the network namespace: bind the host's, read-only.
            plan.add(Op.MOUNT, root, m.destination(), "dir", "/sys", "", MountOption.MS_BIND | MountOption.MS_REC, "",
                    MountOption.MS_BIND | MountOption.MS_REMOUNT | MountOption.MS_RDONLY | MountOption.MS_NOSUID
                            | MountOption.MS_NODEV | MountOption.MS_NOEXEC, props);
            return;
        }
        if (opts.copyUp() && type.equals("tmpfs")) {
            // the tenth argument: copy what the covered directory held into the new tmpfs
            plan.add(Op.MOUNT, root, m.destination(), "dir", m.source() == null ? type : m.source(), type,
                    opts.flags(), opts.data(), 0, props, 1);
            return;
        }
        plan.add(Op.MOUNT, root, m.destination(), "dir", m.source() == null ? type : m.source(), type,
                opts.flags(), opts.data(), 0, props);
    }

    /**
     * A cgroup file system for the container: with a cgroup namespace, fresh cgroup mounts whose
     * root is the container's cgroup; without one, the container's own cgroup directories bound
     * in. On v1 each hierarchy gets a directory under a tmpfs, as on the host.
     */
    private static void cgroupMount(Plan plan, Spec spec, CreateContext ctx, Spec.Mount m, MountOption.Parsed opts) {
        String root = ctx.rootfs().toString();
        boolean cgroupNs = spec.namespace("cgroup") != null;
        long flags = opts.flags() & ~(MountOption.MS_BIND | MountOption.MS_REC);
        long ro = flags & MountOption.MS_RDONLY;
        Map<String, String> paths = ctx.cgroupPaths();
        boolean pureV2 = paths.size() == 1 && paths.containsKey("unified")
                && !paths.get("unified").startsWith("/sys/fs/cgroup/unified/");
        if (pureV2) {
            if (cgroupNs) {
                plan.add(Op.MOUNT, root, m.destination(), "dir", "cgroup2", "cgroup2", flags, "", 0, "");
            } else {
                plan.add(Op.MOUNT, root, m.destination(), "dir", paths.get("unified"), "",
                        MountOption.MS_BIND | MountOption.MS_REC, "",
                        MountOption.MS_BIND | MountOption.MS_REMOUNT | flags, "");
            }
            return;
        }
        plan.add(Op.MOUNT, root, m.destination(), "dir", "tmpfs", "tmpfs",
                MountOption.MS_NOSUID | MountOption.MS_NODEV | MountOption.MS_NOEXEC, "mode=755", 0, "");
        for (Map.Entry<String, String> e : paths.entrySet()) {
            String name = e.getKey();
            String dest = m.destination() + "/" + (name.startsWith("name=") ? name.substring(5) : name);
            if (cgroupNs) {
                String fstype = name.equals("unified") ? "cgroup2" : "cgroup";
                String data = name.equals("unified") ? "" : name.equals("systemd") ? "none,name=systemd" : name;
                plan.add(Op.MOUNT, root, dest, "dir", "cgroup", fstype, flags, data, 0, "");
            } else {
                plan.add(Op.MOUNT, root, dest, "dir", e.getValue(), "", MountOption.MS_BIND, "",
                        MountOption.MS_BIND | MountOption.MS_REMOUNT | flags, "");
            }
        }
        if (ro != 0) {
            plan.add(Op.MOUNT, root, m.destination(), "none", "", "",
                    MountOption.MS_REMOUNT | MountOption.MS_RDONLY | MountOption.MS_NOSUID | MountOption.MS_NODEV
                            | MountOption.MS_NOEXEC, "mode=755", 0, "");
        }
    }
}
