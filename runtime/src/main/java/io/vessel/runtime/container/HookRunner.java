package io.vessel.runtime.container;

import io.vessel.runtime.spec.Spec;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs hooks in the runtime's namespaces (prestart, createRuntime, poststart, poststop) with the state on stdin. */
final class HookRunner {
    private HookRunner() {
    }

    static void run(String phase, List<Spec.Hook> hooks, String stateJson) throws RuntimeError {
        for (Spec.Hook h : hooks) {
            ProcessBuilder pb = new ProcessBuilder(h.args());
            pb.environment().clear();
            for (String e : h.env()) {
                int eq = e.indexOf('=');
                pb.environment().put(e.substring(0, eq), e.substring(eq + 1));
            }
            pb.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
            try {
                // argv[0] of a hook may differ from its path: run the path, pass args[0] as the name.
                List<String> cmd = new java.util.ArrayList<>(h.args());
                cmd.set(0, h.path());
                pb.command(cmd);
                Process p = pb.start();
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stateJson.getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // the hook need not read its stdin
                }
                boolean done = h.timeoutSeconds() > 0 ? p.waitFor(h.timeoutSeconds(), TimeUnit.SECONDS) : p.waitFor() >= 0;
                if (!done) {
                    p.destroyForcibly().waitFor();
                    throw new RuntimeError(phase + " hook " + h.path() + " timed out after " + h.timeoutSeconds() + " s");
                }
                if (p.exitValue() != 0) {
                    throw new RuntimeError(phase + " hook " + h.path() + " failed with status " + p.exitValue());
                }
            } catch (IOException e) {
                throw new RuntimeError(phase + " hook " + h.path() + " could not be run: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RuntimeError(phase + " hook " + h.path() + " interrupted");
            }
        }
    }
}
