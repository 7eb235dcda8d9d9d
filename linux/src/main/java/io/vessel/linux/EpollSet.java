package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static io.vessel.linux.Native.C_INT;
import static io.vessel.linux.Native.C_POINTER;

/**
 * An epoll instance that a component owns for its own descriptors (a vsock device's Unix
 * sockets), so that an outer event loop watches one descriptor — this set's, readable when any
 * member has an event — and calls the component, which then {@link #poll}s without blocking.
 * Each member carries a 64-bit tag chosen by the owner. Closeable; not thread-safe.
 */
public final class EpollSet implements AutoCloseable {
    // sys/epoll.h
    public static final int EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010,
            EPOLLRDHUP = 0x2000, EPOLLET = 1 << 31;
    private static final int EPOLL_CLOEXEC = 02000000;
    private static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    /** struct epoll_event is packed on x86-64: le32 events, le64 data. */
    private static final long EVENT_BYTES = 12;

    /** One ready member: its tag and the events that happened. */
    public record Event(long tag, int events) {
        public boolean readable() {
            return (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0;
        }

        public boolean writable() {
            return (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
        }
    }

    private static final class H {
        static final MethodHandle CREATE = Native.errnoHandle("epoll_create1", FunctionDescriptor.of(C_INT, C_INT));
        static final MethodHandle CTL = Native.errnoHandle("epoll_ctl",
                FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER));
        static final MethodHandle WAIT = Native.errnoHandle("epoll_wait",
                FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_INT));
    }

    private final Fd fd;

    private EpollSet(Fd fd) {
        this.fd = fd;
    }

    public static EpollSet create() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            int r = (int) H.CREATE.invokeExact(errno, EPOLL_CLOEXEC);
            Native.check(r, errno, () -> "epoll_create1(EPOLL_CLOEXEC)");
            return new EpollSet(Fd.adopt(r));
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** The set's own descriptor: readable while some member has an event. */
    public int fd() {
        return fd.num();
    }

    public void add(int member, int events, long tag) throws ErrnoException {
        ctl(EPOLL_CTL_ADD, member, events, tag);
    }

    public void modify(int member, int events, long tag) throws ErrnoException {
        ctl(EPOLL_CTL_MOD, member, events, tag);
    }

    /** Removes {@code member}; one that is not in the set (or already closed) is ignored. */
    public void remove(int member) {
        try {
            ctl(EPOLL_CTL_DEL, member, 0, 0);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ENOENT && e.errno() != Errno.EBADF) {
                throw new IllegalStateException("epoll_ctl(DEL, " + member + "): " + e.getMessage(), e);
            }
        }
    }

    private void ctl(int op, int member, int events, long tag) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment event = arena.allocate(EVENT_BYTES, 4);
            event.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0, events);
            event.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 4, tag);
            int r = (int) H.CTL.invokeExact(errno, fd.num(), op, member, event);
            Native.check(r, errno, () -> "epoll_ctl(" + fd + ", " + op + ", " + member + ")");
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    /** Up to {@code max} ready members, waiting at most {@code timeoutMillis} (0: not at all, -1: forever). */
    public List<Event> poll(int max, int timeoutMillis) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Native.errnoSegment(arena);
            MemorySegment events = arena.allocate(EVENT_BYTES * max, 4);
            int n;
            do {
                n = (int) H.WAIT.invokeExact(errno, fd.num(), events, max, timeoutMillis);
            } while (n < 0 && Native.errno(errno) == Errno.EINTR);
            Native.check(n, errno, () -> "epoll_wait(" + fd + ")");
            List<Event> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                out.add(new Event(events.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, EVENT_BYTES * i + 4),
                        events.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, EVENT_BYTES * i)));
            }
            return out;
        } catch (Throwable t) {
            throw Native.rethrow(t);
        }
    }

    @Override
    public void close() {
        fd.close();
    }
}
