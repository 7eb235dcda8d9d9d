package io.vessel.runtime.container;

/**
 * A container's status as the OCI runtime spec names it. It is always derived from the live
 * process (see {@link Container#status()}), never stored; the rules of each operation live here.
 */
public enum Status {
    CREATING, CREATED, RUNNING, PAUSED, STOPPED;

    public boolean canStart() {
        return this == CREATED;
    }

    public boolean canKill() {
        return this == CREATED || this == RUNNING || this == PAUSED;
    }

    /** Deleting without --force: a container whose process is gone, or that never started. */
    public boolean canDelete() {
        return this == STOPPED || this == CREATED;
    }

    public boolean canExec() {
        return this == CREATED || this == RUNNING;
    }

    public boolean canPause() {
        return this == CREATED || this == RUNNING;
    }

    public boolean canResume() {
        return this == PAUSED;
    }

    /** The name used on the wire: "created", "running"... */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
