package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.OptionalLong;

/**
 * userfaultfd(2) in its simplest mode: first touches of pages in a registered range (MISSING
 * faults, from user space or from the kernel copying into or out of them) wait until this
 * descriptor lets them go, and each one is reported here. Closing it lets every waiting fault
 * proceed as an ordinary one. The base of post-copy migration; also how a test holds a
 * device's I/O on guest memory at a point it chooses (a preadv into guest RAM blocks inside the
 * kernel's copy until released).
 *
 * <p>Kernel-mode faults are handled only without UFFD_USER_MODE_ONLY, which needs CAP_SYS_PTRACE
 * unless vm.unprivileged_userfaultfd is 1.
 */
public final class UserFaultFd implements AutoCloseable {
    /** __NR_userfaultfd on x86-64 (arch/x86/entry/syscalls/syscall_64.tbl). */
    private static final long SYS_USERFAULTFD = 323;
    // include/uapi/linux/userfaultfd.h
    private static final long UFFD_API = 0xAA;
    /** _IOWR(0xAA, 0x3F, struct uffdio_api): 24 bytes (api, features, ioctls). */
    private static final long UFFDIO_API = 0xC018AA3FL;
    /** _IOWR(0xAA, 0x00, struct uffdio_register): 32 bytes (range start, len, mode, ioctls). */
    private static final long UFFDIO_REGISTER = 0xC020AA00L;
    private static final long UFFDIO_REGISTER_MODE_MISSING = 1;
    /** struct uffd_msg: 32 bytes; u8 event, then for a page fault u64 flags at 8 and u64 address at 16. */
    private static final int MSG_BYTES = 32;
    private static final int UFFD_EVENT_PAGEFAULT = 0x12;
    private static final int MSG_ADDRESS = 16;

    // long syscall(long number, int flags)
    private static final Native.Function SYSCALL = Native.function("syscall");

    private final Fd fd;
    private final Epoll epoll;
    private boolean closed;

    private UserFaultFd(Fd fd, Epoll epoll) {
        this.fd = fd;
        this.epoll = epoll;
    }

    /** A new userfaultfd (close-on-exec, non-blocking), with the API handshake done. */
    public static UserFaultFd create() throws ErrnoException {
        int num;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            long r = SYSCALL.call(errno, SYS_USERFAULTFD, Files.O_CLOEXEC | Files.O_NONBLOCK);
            num = (int) Native.check(r, errno, () -> "userfaultfd(O_CLOEXEC | O_NONBLOCK)");
        }
        Fd fd = Fd.adopt(num);
        Epoll epoll = null;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment api = arena.allocate(24, 8);
            api.set(ValueLayout.JAVA_LONG, 0, UFFD_API);
            Ioctl.ioctl(num, UFFDIO_API, api);
            epoll = Epoll.create(1);
            epoll.add(num, Epoll.EPOLLIN, 0);
            return new UserFaultFd(fd, epoll);
        } catch (ErrnoException | RuntimeException e) {
            if (epoll != null) {
                epoll.close();
            }
            fd.close();
            throw e;
        }
    }

    /** Reports first touches of {@code range} (page-aligned, in this process's memory) until closed. */
    public void registerMissing(MemorySegment range) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment reg = arena.allocate(32, 8);
            reg.set(ValueLayout.JAVA_LONG, 0, range.address());
            reg.set(ValueLayout.JAVA_LONG, 8, range.byteSize());
            reg.set(ValueLayout.JAVA_LONG, 16, UFFDIO_REGISTER_MODE_MISSING);
            Ioctl.ioctl(fd.num(), UFFDIO_REGISTER, reg);
        }
    }

    /**
     * Waits up to {@code timeoutMillis} for a page fault in a registered range; returns its
     * address (the faulting access stays blocked), or empty if none came in time.
     */
    public OptionalLong awaitFault(int timeoutMillis) throws ErrnoException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        byte[] msg = new byte[MSG_BYTES];
        while (true) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0 || epoll.await((int) left).length == 0) {
                return OptionalLong.empty();
            }
            int n;
            try {
                n = Files.read(fd.num(), msg);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EAGAIN) {
                    continue;
                }
                throw e;
            }
            if (n == MSG_BYTES && msg[0] == UFFD_EVENT_PAGEFAULT) {
                return OptionalLong.of(java.nio.ByteBuffer.wrap(msg).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                        .getLong(MSG_ADDRESS));
            }
        }
    }

    /** Closes the descriptor: faults waiting on it, and later ones, proceed as ordinary faults. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        epoll.close();
        fd.close();
    }
}
