package io.vessel.engine.build;

/**
 * A Dockerfile that cannot be parsed or planned. The message starts with the file name and the
 * line ({@code Dockerfile:12: unknown instruction: FOO}) so that a user can go straight to it.
 */
public final class DockerfileException extends RuntimeException {
    private final String fileName;
    private final int line;

    public DockerfileException(String fileName, int line, String message) {
        super(fileName + ":" + line + ": " + message);
        this.fileName = fileName;
        this.line = line;
    }

    /** The Dockerfile's name as the user gave it. */
    public String fileName() {
        return fileName;
    }

    /** The 1-based line where the offending instruction starts. */
    public int line() {
        return line;
    }
}
