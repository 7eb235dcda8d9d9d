package io.vessel.runtime.process;

import java.io.IOException;

/**
 * Who starts the launcher for a create or an exec. The runtime's own way is {@link Launcher#launch}:
 * the launcher is this process's child. An engine that wants the container to outlive it starts the
 * launcher from a monitor process instead (which becomes the container's parent) and hands the runtime
 * a session over the launcher's sync socket ({@link Launcher#over}); the conversation is the same.
 */
@FunctionalInterface
public interface LauncherStarter {
    /** Starts a launcher, sends it the plan, and returns the session to converse with it. */
    Launcher.Session start(Plan plan, Launcher.Stdio stdio) throws IOException;
}
