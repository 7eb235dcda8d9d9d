package io.vessel.runtime.process;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Sends signals through the launcher's "signal" mode: a pidfd per process and a start-time check,
 * so a pid that was reused by another process is never signalled. (A one-shot process costs less
 * than linking kill(2) through FFM in a short-lived command.)
 */
public final class Signaller {
    /** A process to signal; {@code startTime} 0 skips the identity check. */
    public record Target(int pid, long startTime) {
        String arg() {
            return startTime > 0 ? pid + ":" + startTime : Integer.toString(pid);
        }
    }

    /** What happened: all signalled, or some target was no longer there. */
    public enum Result { SIGNALLED, GONE }

    private Signaller() {
    }

    public static Result signal(int signal, List<Target> targets) throws IOException {
        if (targets.isEmpty()) {
            return Result.SIGNALLED;
        }
        List<String> cmd = new ArrayList<>(List.of(Launcher.binary().toString(), "signal", Integer.toString(signal)));
        for (Target t : targets) {
            cmd.add(t.arg());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().clear();
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        int rc;
        try {
            rc = p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while signalling");
        }
        return switch (rc) {
            case 0 -> Result.SIGNALLED;
            case 3 -> Result.GONE;
            default -> throw new IOException(out.isEmpty() ? "signalling failed with status " + rc : out);
        };
    }

    public static Result signal(int signal, Target target) throws IOException {
        return signal(signal, List.of(target));
    }
}
