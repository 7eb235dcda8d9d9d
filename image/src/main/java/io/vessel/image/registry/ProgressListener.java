package io.vessel.image.registry;

/**
 * Receives the progress of a pull or push, one event per state change of a blob and repeatedly
 * while bytes move. Called from several threads at once (layers move in parallel), so
 * implementations must be thread-safe and quick. Kept to one method so that the daemon can turn
 * each event into one of Docker's JSON progress messages.
 */
@FunctionalInterface
public interface ProgressListener {
    /** A listener that ignores everything. */
    ProgressListener NONE = event -> { };

    void onEvent(ProgressEvent event);

    /**
     * One step of one blob.
     *
     * @param id      the blob's short id: the first 12 hex digits of its digest, as Docker shows it
     * @param state   what is happening to it
     * @param current bytes done so far (0 when not meaningful)
     * @param total   the blob's size, or -1 if unknown
     * @param detail  extra words for the state, e.g. the source repository of a mount; "" if none
     */
    record ProgressEvent(String id, State state, long current, long total, String detail) {
        public ProgressEvent {
            detail = detail == null ? "" : detail;
        }
    }

    /** The states a blob goes through, with the words Docker prints for them. */
    enum State {
        WAITING("Waiting"),
        DOWNLOADING("Downloading"),
        VERIFYING("Verifying Checksum"),
        DOWNLOAD_COMPLETE("Download complete"),
        ALREADY_EXISTS("Already exists"),
        /** The layer is unpacked into the store: the last state of a pulled layer. */
        PULL_COMPLETE("Pull complete"),
        PREPARING("Preparing"),
        PUSHING("Pushing"),
        PUSHED("Pushed"),
        LAYER_EXISTS("Layer already exists"),
        MOUNTED("Mounted from");

        private final String text;

        State(String text) {
            this.text = text;
        }

        /** The state as Docker prints it. */
        public String text() {
            return text;
        }

        /** Whether bytes are moving: such events come many times and carry a count. */
        public boolean inProgress() {
            return this == DOWNLOADING || this == PUSHING;
        }
    }
}
