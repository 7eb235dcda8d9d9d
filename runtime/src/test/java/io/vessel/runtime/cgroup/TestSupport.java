package io.vessel.runtime.cgroup;

import io.vessel.json.JsonNode;
import io.vessel.runtime.spec.Resources;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/** Helpers for the tests that use this host's real cgroups. */
final class TestSupport {
    private TestSupport() {
    }

    static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .anyMatch(l -> l.matches("Uid:\\s+0\\s.*"));
        } catch (IOException e) {
            return false;
        }
    }

    static String uniqueName() {
        return "vessel-test-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Resources resources(String json) {
        return Resources.from(JsonNode.parse("config.json", json));
    }

    static String read(String dir, String file) throws IOException {
        return Files.readString(Path.of(dir, file)).strip();
    }

    /** "MAJ:MIN" of a real disk (not loop, zram or ram), or null. */
    static String diskDevice() throws IOException {
        try (Stream<Path> blocks = Files.list(Path.of("/sys/block"))) {
            for (Path b : blocks.sorted().toList()) {
                String name = b.getFileName().toString();
                if (!name.startsWith("loop") && !name.startsWith("zram") && !name.startsWith("ram")
                        && Files.exists(b.resolve("dev"))) {
                    return Files.readString(b.resolve("dev")).strip();
                }
            }
        }
        return null;
    }

    /** Takes back controllers enabled in a cgroup2 directory's subtree_control since {@code before}. */
    static void restoreSubtreeControl(Path dir, Set<String> before) throws CgroupException {
        CgroupDir d = new CgroupDir(dir);
        for (String c : d.words(Hierarchy.SUBTREE_CONTROL)) {
            if (!before.contains(c)) {
                try {
                    d.write(Hierarchy.SUBTREE_CONTROL, "-" + c);
                } catch (CgroupException e) {
                    System.err.println("could not restore " + dir + ": " + e.getMessage());
                }
            }
        }
    }

    /** Blocks until {@code condition} holds or about a second has passed. */
    static boolean eventually(IoCondition condition) throws Exception {
        for (int i = 0; i < 100; i++) {
            if (condition.test()) {
                return true;
            }
            Thread.sleep(10);
        }
        return condition.test();
    }

    interface IoCondition {
        boolean test() throws Exception;
    }
}
