package io.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An epoll(7) instance: the set of descriptors one thread waits on together (a VM's event loop
 * waits on its ioeventfds, its wake-up eventfd and the like). Each registered descriptor carries a
 * 64-bit tag that {@link #await} hands back with the events that fired. Not thread-safe for
 * {@link #await}: one thread waits; {@link #add}/{@link #remove} may come from any thread, as
 * the kernel allows.
 */
public final class Epoll implements AutoCloseable {
    /** include/uapi/linux/eventpoll.h. */
    public static final int EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010,
            EPOLLRDHUP = 0x2000, EPOLLET = 1 << 31;
    private static final int EPOLL_CLOEXEC = 02000000;
    private static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    /** struct epoll_event is packed on x86-64: __u32 events, __u64 data (12 bytes). */
    private static final long EVENT_SIZE = 12, EVENT_DATA = 4;
    private static final ValueLayout.OfLong UNALIGNED_LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
    // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);
    private static final Native.Function EPOLL_CREATE1 = Native.function("epoll_create1");
    private static final Native.Function EPOLL_CTL = Native.function("epoll_ctl");
    private static final Native.Function EPOLL_WAIT = Native.function("epoll_wait");

    /** One ready descriptor: the tag it was registered with and the events (EPOLLIN...). */
    public record Event(long tag, int events) {
        /** Whether a read would not block: data, end of stream or an error. */
        public boolean readable() {
            return (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0;
        }

        /** Whether a write would not block, or fail at once. */
        public boolean writable() {
            return (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
        }
    }

    private final Fd fd;
    private final Arena arena = Arena.ofShared();
    private final int capacity;
    private final MemorySegment events;
    /** {@link #events} read as a buffer: in the interpreter a buffer's get is about twice as fast as a segment's. */
    private final ByteBuffer eventsView;
    private final MemorySegment errno;

    private Epoll(Fd fd, int capacity) {
        this.fd = fd;
        this.capacity = capacity;
        this.events = arena.allocate(EVENT_SIZE * capacity, 8);
        this.eventsView = events.asByteBuffer().order(ByteOrder.nativeOrder());
        this.errno = Native.errnoSegment(arena);
    }

    /** A new close-on-exec epoll instance returning at most {@code capacity} events per {@link #await}. */
    public static Epoll create(int capacity) throws ErrnoException {
        if (capacity < 1) {
            throw new IllegalArgumentException("epoll capacity must be at least 1, not " + capacity);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = Native.errnoSegment(a);
            int r = (int) EPOLL_CREATE1.call(err, EPOLL_CLOEXEC);
            Native.check(r, err, () -> "epoll_create1(EPOLL_CLOEXEC)");
            return new Epoll(Fd.adopt(r), capacity);
        }
    }

    /** Watches {@code target} for {@code mask} (EPOLLIN...), reporting it with {@code tag}. */
    public void add(int target, int mask, long tag) throws ErrnoException {
        ctl(EPOLL_CTL_ADD, "EPOLL_CTL_ADD", target, mask, tag);
    }

    public void modify(int target, int mask, long tag) throws ErrnoException {
        ctl(EPOLL_CTL_MOD, "EPOLL_CTL_MOD", target, mask, tag);
    }

    public void remove(int target) throws ErrnoException {
        ctl(EPOLL_CTL_DEL, "EPOLL_CTL_DEL", target, 0, 0);
    }

    /** {@link #remove}, ignoring a descriptor that is not watched (or is already closed). */
    public void removeIfPresent(int target) {
        try {
            remove(target);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ENOENT && e.errno() != Errno.EBADF) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
    }

    /** The instance's own descriptor: readable while a watched descriptor has an event, so it nests in another loop. */
    public int fd() {
        return fd.num();
    }

    private void ctl(int op, String opName, int target, int mask, long tag) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ev = a.allocate(EVENT_SIZE, 8);
            ev.set(ValueLayout.JAVA_INT, 0, mask);
            ev.set(UNALIGNED_LONG, EVENT_DATA, tag);
            MemorySegment err = Native.errnoSegment(a);
            int r = (int) EPOLL_CTL.call(err, fd.num(), op, target, Native.ptr(ev));
            Native.check(r, err, () -> "epoll_ctl(" + fd.num() + ", " + opName + ", " + target + ")");
        }
    }

    /**
     * Waits up to {@code timeoutMillis} (-1: for ever) for events; returns those that fired, none
     * on timeout or when a signal interrupted the wait.
     */
    public Event[] await(int timeoutMillis) throws ErrnoException {
        int n;
        n = (int) EPOLL_WAIT.call(errno, fd.num(), Native.ptr(events), capacity, timeoutMillis);
        if (n < 0) {
            int e = Native.errno(errno);
            if (e == Errno.EINTR) {
                return new Event[0];
            }
            throw new ErrnoException("epoll_wait(" + fd.num() + ")", e);
        }
        Event[] out = new Event[n];
        for (int i = 0; i < n; i++) {
            int base = i * (int) EVENT_SIZE;
            out[i] = new Event(eventsView.getLong(base + (int) EVENT_DATA), eventsView.getInt(base));
        }
        return out;
    }

    @Override
    public void close() {
        fd.close();
        arena.close();
    }
}
