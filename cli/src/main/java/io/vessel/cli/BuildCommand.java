package io.vessel.cli;

import java.io.IOException;
import java.util.List;

/** vessel build: arrives with the build executor. */
final class BuildCommand {
    private BuildCommand() {
    }

    static int run(Main main, List<String> args) throws UsageError, IOException {
        throw new UsageError("build: not yet");
    }
}
