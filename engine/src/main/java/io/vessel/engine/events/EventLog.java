package io.vessel.engine.events;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The engine's events: the last {@link #RETAINED} kept for {@code docker events --since}, and live
 * subscribers. Whatever changes images, volumes, containers or networks publishes here; the
 * daemon's {@code /events} endpoint reads it. Publishing never blocks: a subscriber that falls
 * {@link #SUBSCRIBER_BACKLOG} events behind is cut off rather than slowing the engine down.
 */
public final class EventLog {
    /** Events kept for replay; dockerd keeps 256 (its events.Events buffer). */
    public static final int RETAINED = 256;
    /** Events a slow subscriber may have pending before it is dropped. */
    public static final int SUBSCRIBER_BACKLOG = 1024;

    private final ArrayDeque<Event> recent = new ArrayDeque<>();
    private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();

    /** Records {@code e} and hands it to every subscriber whose filter accepts it. */
    public void publish(Event e) {
        synchronized (recent) {
            if (recent.size() == RETAINED) {
                recent.removeFirst();
            }
            recent.addLast(e);
            for (Subscription s : subscribers) {
                s.offer(e);
            }
        }
    }

    /**
     * Subscribes: the retained events at or after {@code sinceNano} (none if negative) come first,
     * then new ones as they are published, all filtered by {@code filter}. Close it to stop.
     */
    public Subscription subscribe(long sinceNano, Predicate<Event> filter) {
        Subscription s = new Subscription(filter);
        synchronized (recent) {
            if (sinceNano >= 0) {
                for (Event e : recent) {
                    if (e.timeNano() >= sinceNano) {
                        s.offer(e);
                    }
                }
            }
            subscribers.add(s);
        }
        return s;
    }

    /** The retained events, oldest first. */
    public List<Event> recent() {
        synchronized (recent) {
            return new ArrayList<>(recent);
        }
    }

    /** A live feed of events. */
    public final class Subscription implements AutoCloseable {
        private final Predicate<Event> filter;
        private final LinkedBlockingQueue<Event> queue = new LinkedBlockingQueue<>(SUBSCRIBER_BACKLOG);
        private volatile boolean overflowed;

        private Subscription(Predicate<Event> filter) {
            this.filter = filter;
        }

        private void offer(Event e) {
            if (filter.test(e) && !queue.offer(e)) {
                overflowed = true;
                subscribers.remove(this);
            }
        }

        /** The next event, waiting up to {@code timeoutMillis}; null if none came. */
        public Event next(long timeoutMillis) throws InterruptedException {
            return queue.poll(timeoutMillis, TimeUnit.MILLISECONDS);
        }

        /** Whether events wait to be taken. */
        public boolean pending() {
            return !queue.isEmpty();
        }

        /** Whether events were lost because this subscriber did not keep up. */
        public boolean overflowed() {
            return overflowed && queue.isEmpty();
        }

        @Override
        public void close() {
            subscribers.remove(this);
        }
    }
}
