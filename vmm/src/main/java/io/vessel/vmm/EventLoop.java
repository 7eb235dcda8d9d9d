package io.vessel.vmm;

import io.vessel.linux.Epoll;
import io.vessel.linux.ErrnoException;
import io.vessel.linux.EventFd;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A VM's device event loop: one platform thread blocked in epoll_wait over the descriptors its
 * devices care about (ioeventfds of virtio queue notifications, and the like), calling each one's
 * handler on that thread when it becomes readable. Device work thus runs off the vCPU threads,
 * which go straight back into the guest after a notification (or never leave it, with an
 * ioeventfd). Tasks from other threads run on the loop too ({@link #execute}), woken through an
 * eventfd; {@link #close} stops the thread the same way, so nothing ever polls.
 */
public final class EventLoop implements AutoCloseable {
    /** What a registered descriptor's readiness runs, on the loop thread; {@code events} are epoll's bits. */
    @FunctionalInterface
    public interface Handler {
        void ready(int events) throws Exception;
    }

    /** Events one epoll_wait returns at most; more simply wait for the next round. */
    private static final int BATCH = 32;
    /** The tag of the loop's own wake-up eventfd; registered descriptors get tags from 1. */
    private static final long WAKE_TAG = 0;

    private final Epoll epoll;
    private final EventFd wake;
    private final Map<Long, Handler> handlers = new ConcurrentHashMap<>();
    private final Map<Integer, Long> tagsByFd = new ConcurrentHashMap<>();
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicLong nextTag = new AtomicLong(1);
    private final Consumer<Throwable> onFailure;
    private final Thread thread;
    private volatile boolean stopping;
    private boolean closed;

    private EventLoop(Epoll epoll, EventFd wake, String name, Consumer<Throwable> onFailure) {
        this.epoll = epoll;
        this.wake = wake;
        this.onFailure = onFailure;
        this.thread = Thread.ofPlatform().name(name).daemon().unstarted(this::loop);
    }

    /**
     * Starts a loop on a platform thread called {@code name}. A handler or task that throws is
     * reported to {@code onFailure} (on the loop thread) and the loop goes on.
     */
    public static EventLoop start(String name, Consumer<Throwable> onFailure) throws ErrnoException {
        Epoll epoll = Epoll.create(BATCH);
        EventFd wake = null;
        try {
            wake = EventFd.create();
            epoll.add(wake.num(), Epoll.EPOLLIN, WAKE_TAG);
        } catch (ErrnoException | RuntimeException e) {
            if (wake != null) {
                wake.close();
            }
            epoll.close();
            throw e;
        }
        EventLoop loop = new EventLoop(epoll, wake, name, onFailure);
        loop.thread.start();
        return loop;
    }

    /** Calls {@code handler} on the loop whenever {@code fd} is readable (level-triggered: drain it). */
    public void register(int fd, Handler handler) throws ErrnoException {
        register(fd, Epoll.EPOLLIN, handler);
    }

    /**
     * Calls {@code handler} on the loop for {@code fd}'s epoll {@code events} (EPOLLIN, with
     * {@link io.vessel.linux.Epoll#EPOLLET} for a device that reads until EAGAIN and must not be woken again for
     * data it left waiting on purpose, such as a tap whose frame the ring has no room for).
     */
    public void register(int fd, int events, Handler handler) throws ErrnoException {
        long tag = nextTag.getAndIncrement();
        if (tagsByFd.putIfAbsent(fd, tag) != null) {
            throw new IllegalArgumentException("fd " + fd + " is already registered with the event loop");
        }
        handlers.put(tag, handler);
        try {
            epoll.add(fd, events, tag);
        } catch (ErrnoException | RuntimeException e) {
            handlers.remove(tag);
            tagsByFd.remove(fd);
            throw e;
        }
    }

    /** Stops watching {@code fd}; its handler is not called afterwards (unless already running). */
    public void unregister(int fd) throws ErrnoException {
        Long tag = tagsByFd.remove(fd);
        if (tag == null) {
            return;
        }
        handlers.remove(tag);
        epoll.remove(fd);
    }

    /** Runs {@code task} on the loop thread, soon. */
    public void execute(Runnable task) {
        tasks.add(task);
        try {
            wake.signal();
        } catch (ErrnoException e) {
            throw new IllegalStateException("waking the event loop failed: " + e.getMessage(), e);
        }
    }

    /** Whether the caller is the loop thread. */
    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    private void loop() {
        try {
            while (!stopping) {
                for (Epoll.Event e : epoll.await(-1)) {
                    if (e.tag() == WAKE_TAG) {
                        wake.drain();
                        continue;
                    }
                    Handler h = handlers.get(e.tag());
                    if (h != null) {
                        try {
                            h.ready(e.events());
                        } catch (Exception | Error x) {
                            onFailure.accept(x);
                        }
                    }
                }
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    try {
                        task.run();
                    } catch (RuntimeException | Error x) {
                        onFailure.accept(x);
                    }
                }
            }
        } catch (ErrnoException | RuntimeException e) {
            onFailure.accept(e);
        }
    }

    /** Stops the loop thread, waits for it, and closes the epoll instance and the wake-up eventfd. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        if (inLoop()) {
            throw new IllegalStateException("an event loop cannot be closed from its own thread");
        }
        closed = true;
        stopping = true;
        boolean interrupted = false;
        try {
            wake.signal();
        } catch (ErrnoException e) {
            throw new IllegalStateException("waking the event loop to stop it failed: " + e.getMessage(), e);
        }
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        handlers.clear();
        tagsByFd.clear();
        epoll.close();
        wake.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
