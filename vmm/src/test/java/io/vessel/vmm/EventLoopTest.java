package io.vessel.vmm;

import io.vessel.linux.EventFd;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VM event loop over real eventfds: handlers and tasks on its thread, failures reported, clean close. */
class EventLoopTest {
    private static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    void runsHandlersAndTasksOnItsThreadAndSurvivesAFailingHandler() throws Exception {
        long before = openFds();
        CopyOnWriteArrayList<Throwable> failures = new CopyOnWriteArrayList<>();
        Thread loopThread;
        try (EventLoop loop = EventLoop.start("test-loop", failures::add); EventFd good = EventFd.create();
             EventFd bad = EventFd.create()) {
            java.util.concurrent.Semaphore fired = new java.util.concurrent.Semaphore(0);
            AtomicReference<String> where = new AtomicReference<>();
            loop.register(good.num(), events -> {
                good.drain();
                where.set(Thread.currentThread().getName());
                fired.release();
            });
            loop.register(bad.num(), events -> {
                bad.drain();
                throw new IllegalStateException("device broke");
            });
            assertThrows(IllegalArgumentException.class, () -> loop.register(good.num(), events -> { }));
            bad.signal();
            good.signal();
            assertTrue(fired.tryAcquire(5, TimeUnit.SECONDS), "the handler did not run");
            CountDownLatch later = new CountDownLatch(1);
            loop.execute(() -> {
                try {
                    good.add(1); // a handler round after a failure still works
                } catch (io.vessel.linux.ErrnoException e) {
                    throw new IllegalStateException(e);
                }
                later.countDown();
            });
            assertTrue(later.await(5, TimeUnit.SECONDS), "the task never ran");
            assertTrue(fired.tryAcquire(5, TimeUnit.SECONDS), "the handler did not run again after the task");
            assertEquals("test-loop", where.get());
            assertEquals(1, failures.size(), failures.toString());
            assertTrue(failures.get(0).getMessage().contains("device broke"));
            AtomicReference<Thread> t = new AtomicReference<>();
            CountDownLatch got = new CountDownLatch(1);
            loop.execute(() -> {
                t.set(Thread.currentThread());
                got.countDown();
            });
            assertTrue(got.await(5, TimeUnit.SECONDS));
            loopThread = t.get();
            loop.unregister(good.num());
            loop.unregister(bad.num());
        }
        assertFalse(loopThread.isAlive(), "close left the loop thread running");
        assertEquals(before, openFds(), "file descriptors leaked");
    }
}
