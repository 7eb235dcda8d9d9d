package io.vessel.runtime.cli;

import io.vessel.json.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The training run for the JDK AOT cache: one container's whole life through the command line,
 * in one JVM, so that the cache holds what every real invocation loads. Not for users.
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws IOException {
        Path bundle = Path.of(args[0]);
        String root = args[1];
        Map<String, Object> spec = new java.util.LinkedHashMap<>(DefaultSpec.create(false));
        @SuppressWarnings("unchecked")
        Map<String, Object> process = new java.util.LinkedHashMap<>((Map<String, Object>) spec.get("process"));
        process.put("terminal", false);
        process.put("args", List.of("/bin/sleep", "10"));
        spec.put("process", process);
        spec.put("root", Map.of("path", "rootfs"));
        Files.writeString(bundle.resolve("config.json"), Json.writePretty(spec));
        String id = "aot-training-" + ProcessHandle.current().pid();
        Main m = new Main(io.vessel.runtime.container.Caller.process());
        List<List<String>> steps = List.of(
                List.of("--version"),
                List.of("--root", root, "features"),
                List.of("--root", root, "create", "--bundle", bundle.toString(), id),
                List.of("--root", root, "state", id),
                List.of("--root", root, "list"),
                List.of("--root", root, "start", id),
                List.of("--root", root, "ps", "--format", "json", id),
                List.of("--root", root, "exec", id, "/bin/true"),
                List.of("--root", root, "events", "--stats", id),
                List.of("--root", root, "pause", id),
                List.of("--root", root, "resume", id),
                List.of("--root", root, "kill", id, "KILL"),
                List.of("--root", root, "delete", "--force", id),
                List.of("--root", root, "state", "no-such-container"));
        for (List<String> step : steps) {
            m.run(step);
        }
        process.put("args", List.of("/bin/true"));
        Files.writeString(bundle.resolve("config.json"), Json.writePretty(spec));
        m.run(List.of("--root", root, "run", "--bundle", bundle.toString(), id + "-run"));
    }
}
