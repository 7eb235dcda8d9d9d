package io.vessel.linux;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Epoll and EventFd against the real kernel. */
class EpollTest {
    private static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    void eventFdCountsAndEpollReportsItsTag() throws Exception {
        long before = openFds();
        try (Epoll epoll = Epoll.create(4); EventFd a = EventFd.create(); EventFd b = EventFd.create()) {
            epoll.add(a.num(), Epoll.EPOLLIN, 0x1234_5678_9ABCL);
            epoll.add(b.num(), Epoll.EPOLLIN, 7);
            assertEquals(0, epoll.await(0).length, "nothing signalled yet");
            a.signal();
            a.add(2);
            Epoll.Event[] ready = epoll.await(1000);
            assertArrayEquals(new Epoll.Event[] {new Epoll.Event(0x1234_5678_9ABCL, Epoll.EPOLLIN)}, ready);
            assertEquals(3, a.drain(), "the counter sums the writes");
            assertEquals(0, a.drain(), "a drained eventfd reads as 0, without blocking");
            assertEquals(0, epoll.await(0).length, "level-triggered: drained means not ready");
            epoll.remove(b.num());
            b.signal();
            assertEquals(0, epoll.await(0).length, "a removed fd is not reported");
        }
        assertEquals(before, openFds(), "file descriptors leaked");
    }

    @Test
    void aBlockingEventFdWaitsForASignalFromAnotherThread() throws Exception {
        long before = openFds();
        try (EventFd e = EventFd.createBlocking()) {
            e.add(5);
            assertEquals(5, e.await(), "a counter already set returns at once");
            long[] got = new long[1];
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    got[0] = e.await();
                } catch (ErrnoException x) {
                    got[0] = -1;
                }
            });
            waiter.join(200);
            assertTrue(waiter.isAlive(), "await returned with nothing signalled");
            e.signal();
            waiter.join(5000);
            assertFalse(waiter.isAlive(), "a signal did not wake the waiter");
            assertEquals(1, got[0]);
        }
        assertEquals(before, openFds(), "file descriptors leaked");
    }

    @Test
    void errorsNameTheCall() throws Exception {
        try (Epoll epoll = Epoll.create(1)) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> epoll.remove(999_999));
            assertTrue(e.getMessage().contains("EPOLL_CTL_DEL") && e.getMessage().contains("EBADF"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Epoll.create(0));
    }
}
