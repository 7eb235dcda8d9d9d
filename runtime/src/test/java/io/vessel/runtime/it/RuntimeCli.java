package io.vessel.runtime.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code vessel-runtime} command (the repository's launcher script) with its own --root. */
public final class RuntimeCli {
    public final Path root;

    public RuntimeCli(Path root) {
        this.root = root;
    }

    public record Result(int exit, String out, String err) {
        public Result ok() {
            if (exit != 0) {
                throw new AssertionError("vessel-runtime exited " + exit + "\nstdout: " + out + "\nstderr: " + err);
            }
            return this;
        }
    }

    public static Path script() {
        return Bundle.repo().resolve("vessel-runtime");
    }

    public Result run(String... args) throws IOException, InterruptedException {
        return withInput(null, args);
    }

    /** Runs with {@code stdin} as input (null: none); waits at most 60 s. */
    public Result withInput(String stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(script().toString());
        cmd.add("--root");
        cmd.add(root.toString());
        cmd.addAll(List.of(args));
        // Output goes to files, not pipes: a created container keeps the runtime's stdio, as with runc.
        Path outFile = java.nio.file.Files.createTempFile("vessel-rt", ".out");
        Path errFile = java.nio.file.Files.createTempFile("vessel-rt", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(outFile.toFile()).redirectError(errFile.toFile());
            if (stdin == null) {
                pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            }
            Process p = pb.start();
            if (stdin != null) {
                try (var in = p.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("vessel-runtime " + String.join(" ", args) + " did not finish in 60 s");
            }
            return new Result(p.exitValue(), java.nio.file.Files.readString(outFile),
                    java.nio.file.Files.readString(errFile));
        } finally {
            java.nio.file.Files.deleteIfExists(outFile);
            java.nio.file.Files.deleteIfExists(errFile);
        }
    }

}
