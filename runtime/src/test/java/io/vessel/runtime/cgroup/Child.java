package io.vessel.runtime.cgroup;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A shell child for the tests: it waits on its stdin until {@link #release()}, so that it can be put
 * in a cgroup before its script runs.
 */
final class Child {
    private final Process process;
    private final BufferedReader out;

    private Child(Process process) {
        this.process = process;
        this.out = process.inputReader(StandardCharsets.UTF_8);
    }

    /** {@code sh -c 'read x; <script>'}. */
    static Child gated(String script) throws IOException {
        return new Child(new ProcessBuilder("sh", "-c", "read x; " + script).start());
    }

    /** A child that runs {@code argv} straight away. */
    static Child of(String... argv) throws IOException {
        return new Child(new ProcessBuilder(argv).start());
    }

    int pid() {
        return Math.toIntExact(process.pid());
    }

    /** Puts this child in the cgroup, through every cgroup.procs file as the launcher does. */
    Child joining(ControlGroup cg) throws IOException {
        for (String procs : cg.procsFiles()) {
            Files.writeString(Path.of(procs), Integer.toString(pid()));
        }
        return this;
    }

    void release() throws IOException {
        OutputStream in = process.getOutputStream();
        in.write('\n');
        in.flush();
    }

    String readLine() throws IOException {
        return out.readLine();
    }

    int waitFor() throws InterruptedException {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("child " + pid() + " did not end in time");
        }
        return process.exitValue();
    }

    String stderr() throws IOException {
        return new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    /** The State line of /proc/PID/status, e.g. "R (running)". */
    String state() throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid() + "/status")).stream()
                .filter(l -> l.startsWith("State:")).findFirst().orElseThrow().substring(6).strip();
    }

    /** utime + stime of /proc/PID/stat, in clock ticks. */
    long cpuTicks() throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid() + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15, counted from state (3)
    }

    /** /proc/PID/cgroup. */
    String cgroups() throws IOException {
        return Files.readString(Path.of("/proc/" + pid() + "/cgroup"));
    }

    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
