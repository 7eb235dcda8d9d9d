package io.vessel.engine.events;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Something that happened to an object the engine manages, in Docker's event terms: a
 * {@code type} ({@code image}, {@code volume}, {@code container}, {@code network}), an
 * {@code action} ({@code pull}, {@code tag}, {@code create}, {@code start}, ...), the object's ID
 * and attributes (its name, labels, the image of a container).
 *
 * @param timeNano nanoseconds since the epoch, Docker's {@code timeNano}
 */
public record Event(String type, String action, String actorId, Map<String, String> attributes, long timeNano) {
    public static final String IMAGE = "image";
    public static final String VOLUME = "volume";
    public static final String CONTAINER = "container";
    public static final String NETWORK = "network";

    public Event {
        if (type == null || type.isEmpty() || action == null || action.isEmpty()) {
            throw new IllegalArgumentException("an event needs a type and an action: " + type + "/" + action);
        }
        actorId = actorId == null ? "" : actorId;
        attributes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    /** An event happening now. */
    public static Event now(String type, String action, String actorId, Map<String, String> attributes) {
        java.time.Instant t = java.time.Instant.now();
        return new Event(type, action, actorId, attributes, t.getEpochSecond() * 1_000_000_000L + t.getNano());
    }
}
