package io.vessel.runtime.container;

import io.vessel.runtime.spec.Spec;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs hooks in the runtime's namespaces (prestart, createRuntime, poststart, poststop) with the state on stdin. */
final class HookRunner {
    /** How long the last output of a finished hook may take to arrive through the relay. */
    private static final long RELAY_DRAIN_MILLIS = 2000;

    private HookRunner() {
    }

    /**
     * Runs the hooks in order, each in the caller's working directory with its own env, the state
     * on stdin and the caller's stdout and stderr as its own (relayed when they are descriptors
     * this process holds for a client, which a child cannot inherit through ProcessBuilder).
     */
    static void run(String phase, List<Spec.Hook> hooks, String stateJson, Caller caller) throws RuntimeError {
        for (Spec.Hook h : hooks) {
            ProcessBuilder pb = new ProcessBuilder(h.args()).directory(caller.cwd().toFile());
            pb.environment().clear();
            for (String e : h.env()) {
                int eq = e.indexOf('=');
                pb.environment().put(e.substring(0, eq), e.substring(eq + 1));
            }
            boolean relay = !caller.ownsProcessStdio();
            if (!relay) {
                pb.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
            }
            try {
                // argv[0] of a hook may differ from its path: run the path, pass args[0] as the name.
                List<String> cmd = new java.util.ArrayList<>(h.args());
                cmd.set(0, h.path());
                pb.command(cmd);
                Process p = pb.start();
                Thread[] relays = relay ? new Thread[]{relay(p.getInputStream(), caller.out()),
                        relay(p.getErrorStream(), caller.err())} : new Thread[0];
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stateJson.getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // the hook need not read its stdin
                }
                boolean done = h.timeoutSeconds() > 0 ? p.waitFor(h.timeoutSeconds(), TimeUnit.SECONDS) : p.waitFor() >= 0;
                for (Thread t : relays) {
                    t.join(done ? RELAY_DRAIN_MILLIS : 100); // a hook's own children may hold the pipe: do not wait for them
                }
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

    private static Thread relay(java.io.InputStream from, java.io.PrintStream to) {
        return Thread.ofPlatform().daemon().name("hook-output").stackSize(256 * 1024).start(() -> {
            byte[] buf = new byte[4096];
            try (from) {
                for (int n; (n = from.read(buf)) > 0; ) {
                    to.write(buf, 0, n);
                    to.flush();
                }
            } catch (IOException ignored) {
                // the hook or the caller went away
            }
        });
    }
}
