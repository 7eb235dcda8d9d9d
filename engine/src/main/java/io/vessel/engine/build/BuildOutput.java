package io.vessel.engine.build;

/**
 * Where a build reports: its progress lines ({@code Step 2/5 : RUN make}, {@code  ---> Using cache},
 * ...), which the CLI prints and the daemon will stream as Docker's {@code {"stream": ...}}
 * messages, and the file descriptors RUN's processes write to. In-process those are the
 * {@code vessel} process's own stdout and stderr; a quiet build gets /dev/null instead.
 */
public interface BuildOutput {
    /** One line of progress, without its newline. */
    void line(String line);

    /** The fd RUN's standard output goes to (inherited by the container). */
    default int stdoutFd() {
        return 1;
    }

    /** The fd RUN's standard error goes to. */
    default int stderrFd() {
        return 2;
    }
}
