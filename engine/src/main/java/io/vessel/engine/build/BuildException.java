package io.vessel.engine.build;

import java.io.IOException;

/**
 * A build step that failed while running (a RUN's non-zero exit, a COPY source that cannot be
 * read, a base image that cannot be found). Like {@link DockerfileException} its message starts with
 * the Dockerfile's name and the line of the step: {@code Dockerfile:7: RUN false returned a
 * non-zero code: 1}.
 */
public final class BuildException extends IOException {
    private final int line;

    public BuildException(String fileName, int line, String message, Throwable cause) {
        super(fileName + ":" + line + ": " + message, cause);
        this.line = line;
    }

    /** The 1-based line of the failed instruction. */
    public int line() {
        return line;
    }
}
