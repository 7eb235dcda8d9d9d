package io.vessel.engine;

import io.vessel.engine.container.RunOptions;
import io.vessel.image.registry.ProgressListener;

import java.nio.file.Path;
import java.util.List;

/**
 * An engine in a JVM of its own for {@link ContainersLifecycleTest}: starts a container that ticks,
 * prints its ID, and waits to be killed with SIGKILL.
 */
public final class EngineChild {
    private EngineChild() {
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        Engine engine = Engine.open(new EngineConfig(root.resolve("root"), root.resolve("run"),
                root.resolve("creds.json"), List.of()));
        RunOptions o = RunOptions.builder().network("none").cmd("sh", "-c",
                "trap 'exit 4' TERM; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done").build();
        String id = engine.containers().create(new Containers.CreateRequest("busybox", null, o, null),
                ProgressListener.NONE).id();
        engine.containers().start(id);
        System.out.print(id);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
