package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * bpf(2), the part a container runtime needs: loading a program, attaching it to a cgroup,
 * listing and detaching what is attached there.
 */
public final class Bpf {
    // x86-64 system call number (arch/x86/entry/syscalls/syscall_64.tbl)
    private static final long SYS_BPF = 321;
    // enum bpf_cmd (include/uapi/linux/bpf.h)
    private static final int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9,
            BPF_PROG_GET_FD_BY_ID = 13, BPF_PROG_QUERY = 16;
    /** enum bpf_prog_type: a program that decides a cgroup's access to device nodes. */
    public static final int BPF_PROG_TYPE_CGROUP_DEVICE = 15;
    /** enum bpf_attach_type: where device programs attach to a cgroup. */
    public static final int BPF_CGROUP_DEVICE = 6;
    /** Attach flag: more programs may be attached here and below; every one of them must allow. */
    public static final int BPF_F_ALLOW_MULTI = 1 << 1;
    /** sizeof(struct bpf_insn): u8 code, u8 dst_reg:4 src_reg:4, s16 off, s32 imm. */
    public static final int INSN_SIZE = 8;

    // union bpf_attr, BPF_PROG_LOAD member: offsets of the fields used and the size passed (up to
    // and including expected_attach_type; the kernel treats the rest as zero).
    private static final long LOAD_PROG_TYPE = 0, LOAD_INSN_CNT = 4, LOAD_INSNS = 8, LOAD_LICENSE = 16,
            LOAD_LOG_LEVEL = 24, LOAD_LOG_SIZE = 28, LOAD_LOG_BUF = 32, LOAD_EXPECTED_ATTACH_TYPE = 68;
    private static final long LOAD_ATTR_SIZE = 72;
    // BPF_PROG_ATTACH/DETACH member: target_fd, attach_bpf_fd, attach_type, attach_flags, replace_bpf_fd
    private static final long ATTACH_TARGET_FD = 0, ATTACH_BPF_FD = 4, ATTACH_TYPE = 8, ATTACH_FLAGS = 12;
    private static final long ATTACH_ATTR_SIZE = 20;
    // BPF_PROG_QUERY member: target_fd, attach_type, query_flags, attach_flags, u64 prog_ids, prog_cnt,
    // u64 prog_attach_flags, u64 link_ids, u64 link_attach_flags, u64 revision (the end of the member)
    private static final long QUERY_TARGET_FD = 0, QUERY_ATTACH_TYPE = 4, QUERY_PROG_IDS = 16, QUERY_PROG_CNT = 24;
    private static final long QUERY_ATTR_SIZE = 64;
    // BPF_PROG_GET_FD_BY_ID member: prog_id, next_id, open_flags
    private static final long GET_FD_PROG_ID = 0;
    private static final long GET_FD_ATTR_SIZE = 12;
    /**
     * Bytes allocated for every union bpf_attr, more than any kernel's union has so far: the kernel
     * writes some results at their offset in the union whatever size it is passed (query.revision,
     * since Linux 6.16), so the memory behind the fields used must exist.
     */
    private static final long ATTR_BUFFER_SIZE = 256;
    /** Verifier log buffer used to explain a rejected program. */
    private static final int LOG_SIZE = 1 << 16;
    /** Program ids asked for in one BPF_PROG_QUERY before growing to the count the kernel reports. */
    private static final int QUERY_CAPACITY = 64;

    private Bpf() {
    }

    // long syscall(long number, ...): bpf(int cmd, union bpf_attr *attr, unsigned int size)
    private static final Native.Function SYSCALL = Native.function("syscall");

    private static long bpf(MemorySegment errno, int cmd, MemorySegment attr, long size) {
        long r;
        do {
            r = SYSCALL.call(errno, SYS_BPF, (long) cmd, Native.ptr(attr), size);
        } while (r < 0 && Native.errno(errno) == Errno.EINTR);
        return r;
    }

    /**
     * BPF_PROG_LOAD of {@code insns} (struct bpf_insn array, {@link #INSN_SIZE} bytes each). When
     * the kernel rejects the program, the load is repeated with a verifier log, whose text ends the
     * exception's message.
     */
    public static Fd progLoad(int progType, int expectedAttachType, byte[] insns, String license)
            throws ErrnoException {
        if (insns.length == 0 || insns.length % INSN_SIZE != 0) {
            throw new IllegalArgumentException("not a whole number of instructions: " + insns.length + " bytes");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment code = arena.allocateFrom(ValueLayout.JAVA_BYTE, insns);
            MemorySegment lic = Native.cString(arena, license);
            MemorySegment attr = arena.allocate(ATTR_BUFFER_SIZE, 8);
            attr.set(ValueLayout.JAVA_INT, LOAD_PROG_TYPE, progType);
            attr.set(ValueLayout.JAVA_INT, LOAD_INSN_CNT, insns.length / INSN_SIZE);
            attr.set(ValueLayout.JAVA_LONG, LOAD_INSNS, code.address());
            attr.set(ValueLayout.JAVA_LONG, LOAD_LICENSE, lic.address());
            attr.set(ValueLayout.JAVA_INT, LOAD_EXPECTED_ATTACH_TYPE, expectedAttachType);
            long fd = bpf(errno, BPF_PROG_LOAD, attr, LOAD_ATTR_SIZE);
            if (fd >= 0) {
                return Fd.adopt((int) fd);
            }
            int firstErrno = Native.errno(errno);
            MemorySegment log = arena.allocate(LOG_SIZE);
            attr.set(ValueLayout.JAVA_INT, LOAD_LOG_LEVEL, 1);
            attr.set(ValueLayout.JAVA_INT, LOAD_LOG_SIZE, LOG_SIZE);
            attr.set(ValueLayout.JAVA_LONG, LOAD_LOG_BUF, log.address());
            fd = bpf(errno, BPF_PROG_LOAD, attr, LOAD_ATTR_SIZE);
            if (fd >= 0) {
                return Fd.adopt((int) fd);
            }
            String text = log.getString(0, StandardCharsets.UTF_8).strip();
            throw new ErrnoException("bpf(BPF_PROG_LOAD, type " + progType + ", " + insns.length / INSN_SIZE
                    + " instructions)" + (text.isEmpty() ? "" : " [verifier: " + text.replace('\n', ';') + "]"),
                    firstErrno);
        }
    }

    /** BPF_PROG_ATTACH of program {@code progFd} to the object (for cgroups: an open directory) {@code targetFd}. */
    public static void progAttach(int targetFd, int progFd, int attachType, int flags) throws ErrnoException {
        attachOrDetach(BPF_PROG_ATTACH, targetFd, progFd, attachType, flags);
    }

    /** BPF_PROG_DETACH of program {@code progFd} from {@code targetFd}. */
    public static void progDetach(int targetFd, int progFd, int attachType) throws ErrnoException {
        attachOrDetach(BPF_PROG_DETACH, targetFd, progFd, attachType, 0);
    }

    private static void attachOrDetach(int cmd, int targetFd, int progFd, int attachType, int flags)
            throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment attr = arena.allocate(ATTR_BUFFER_SIZE, 8);
            attr.set(ValueLayout.JAVA_INT, ATTACH_TARGET_FD, targetFd);
            attr.set(ValueLayout.JAVA_INT, ATTACH_BPF_FD, progFd);
            attr.set(ValueLayout.JAVA_INT, ATTACH_TYPE, attachType);
            attr.set(ValueLayout.JAVA_INT, ATTACH_FLAGS, flags);
            long r = bpf(errno, cmd, attr, ATTACH_ATTR_SIZE);
            Native.check(r, errno, () -> "bpf(" + (cmd == BPF_PROG_ATTACH ? "BPF_PROG_ATTACH" : "BPF_PROG_DETACH")
                    + ", target fd " + targetFd + ", program fd " + progFd + ", attach type " + attachType
                    + ", flags 0x" + Integer.toHexString(flags) + ")");
        }
    }

    /** BPF_PROG_QUERY: the ids of the programs attached directly (not inherited) to {@code targetFd}. */
    public static int[] progQuery(int targetFd, int attachType) throws ErrnoException {
        int capacity = QUERY_CAPACITY;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            while (true) {
                MemorySegment ids = arena.allocate(ValueLayout.JAVA_INT, capacity);
                MemorySegment attr = arena.allocate(ATTR_BUFFER_SIZE, 8);
                attr.set(ValueLayout.JAVA_INT, QUERY_TARGET_FD, targetFd);
                attr.set(ValueLayout.JAVA_INT, QUERY_ATTACH_TYPE, attachType);
                attr.set(ValueLayout.JAVA_LONG, QUERY_PROG_IDS, ids.address());
                attr.set(ValueLayout.JAVA_INT, QUERY_PROG_CNT, capacity);
                long r = bpf(errno, BPF_PROG_QUERY, attr, QUERY_ATTR_SIZE);
                int count = attr.get(ValueLayout.JAVA_INT, QUERY_PROG_CNT);
                if (r < 0 && Native.errno(errno) == Errno.ENOSPC && count > capacity) {
                    capacity = count;
                    continue;
                }
                Native.check(r, errno, () -> "bpf(BPF_PROG_QUERY, target fd " + targetFd + ", attach type "
                        + attachType + ")");
                return ids.asSlice(0, (long) count * Integer.BYTES).toArray(ValueLayout.JAVA_INT);
            }
        }
    }

    /** BPF_PROG_GET_FD_BY_ID: a descriptor for a loaded program, as detaching needs one. */
    public static Fd progGetFdById(int id) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment attr = arena.allocate(ATTR_BUFFER_SIZE, 8);
            attr.set(ValueLayout.JAVA_INT, GET_FD_PROG_ID, id);
            long fd = bpf(errno, BPF_PROG_GET_FD_BY_ID, attr, GET_FD_ATTR_SIZE);
            Native.check(fd, errno, () -> "bpf(BPF_PROG_GET_FD_BY_ID, " + id + ")");
            return Fd.adopt((int) fd);
        }
    }
}
