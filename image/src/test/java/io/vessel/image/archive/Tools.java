package io.vessel.image.archive;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real skopeo and umoci (Debian packages, scripts/install-deps.sh --test) for the interop tests. */
final class Tools {
    private static final long TIMEOUT_SECONDS = 120;

    private Tools() {
    }

    /** Skips the test, saying why, when {@code tool} is not installed. */
    static void require(String tool) {
        boolean found = Files.isExecutable(Path.of("/usr/bin", tool)) || Files.isExecutable(Path.of("/usr/local/bin", tool));
        Assumptions.assumeTrue(found, tool + " is not installed (scripts/install-deps.sh --test installs it)");
    }

    /** skopeo with --insecure-policy: the tests copy between local files only, no signature policy applies. */
    static String skopeo(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("skopeo", "--insecure-policy"));
        cmd.addAll(List.of(args));
        return run(cmd, null);
    }

    static String umoci(Path cwd, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("umoci"));
        cmd.addAll(List.of(args));
        return run(cmd, cwd);
    }

    /** Runs a command, returns its stdout; a non-zero exit fails with its stderr. */
    static String run(List<String> cmd, Path cwd) throws IOException {
        Path err = Files.createTempFile("vessel-tool-", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
            if (cwd != null) {
                pb.directory(cwd.toFile());
            }
            Process p = pb.start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new IOException(String.join(" ", cmd) + ": timed out");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + Files.readString(err));
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
