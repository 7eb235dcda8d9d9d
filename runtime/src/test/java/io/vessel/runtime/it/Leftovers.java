package io.vessel.runtime.it;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * What a container can leave on the host: a state directory, cgroup directories, launcher or
 * container processes, mounts. Taken before a create, then checked after it failed. Other tests
 * may run launchers at the same time, so a process only counts if it is new and tied to this test
 * (its cgroup, or its descriptors or mounts naming the test's directory).
 */
final class Leftovers {
    private final Path testDir;
    private final Set<Integer> launchersBefore;
    private final Set<String> mountsBefore;

    private Leftovers(Path testDir) throws IOException {
        this.testDir = testDir;
        this.launchersBefore = new HashSet<>(launchers());
        this.mountsBefore = new HashSet<>(Files.readAllLines(Path.of("/proc/self/mountinfo")));
    }

    static Leftovers before(Path testDir) throws IOException {
        return new Leftovers(testDir);
    }

    static List<Integer> launchers() {
        List<Integer> out = new ArrayList<>();
        for (int pid : pids()) {
            String cmd = read("/proc/" + pid + "/cmdline");
            if (cmd != null && cmd.contains("vessel-launch")) {
                out.add(pid);
            }
        }
        return out;
    }

    static List<Integer> pids() {
        List<Integer> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.chars().allMatch(Character::isDigit)) {
                    out.add(Integer.parseInt(n));
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out;
    }

    private static String read(String path) {
        try {
            return new String(Files.readAllBytes(Path.of(path)));
        } catch (IOException e) {
            return null;
        }
    }

    /** The cgroup directories a container {@code id} with no cgroupsPath would have. */
    static List<Path> cgroupDirs(String id) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/sys/fs/cgroup"))) {
            for (Path h : ds) {
                if (!Files.isSymbolicLink(h) && Files.isDirectory(h)) {
                    out.add(h.resolve("vessel").resolve(id));
                }
            }
        }
        return out;
    }

    private boolean tiedToTest(int pid) {
        String dir = testDir.toString();
        String mi = read("/proc/" + pid + "/mountinfo");
        if (mi != null && mi.contains(dir)) {
            return true;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : ds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().contains(dir)) {
                        return true;
                    }
                } catch (IOException ignored) {
                    // closed meanwhile
                }
            }
        } catch (IOException ignored) {
            // gone
        }
        return false;
    }

    /** Asserts that container {@code id} of runtime {@code rt} left nothing behind. */
    void assertNothingLeft(RuntimeCli rt, String id) throws Exception {
        assertFalse(Files.exists(rt.root.resolve(id)), "state directory " + rt.root.resolve(id) + " is left");
        for (Path cg : cgroupDirs(id)) {
            assertFalse(Files.exists(cg), "cgroup " + cg + " is left");
        }
        List<String> procs = new ArrayList<>();
        for (int i = 0; i < 100; i++) { // a killed process may take a moment to disappear
            procs.clear();
            for (int pid : pids()) {
                String cg = read("/proc/" + pid + "/cgroup");
                String cmd = read("/proc/" + pid + "/cmdline");
                boolean inCgroup = cg != null && cg.contains("/vessel/" + id + "\n");
                boolean launcher = cmd != null && cmd.contains("vessel-launch") && !launchersBefore.contains(pid)
                        && tiedToTest(pid);
                if (inCgroup || launcher) {
                    procs.add(pid + " " + (cmd == null ? "" : cmd.replace('\0', ' ')));
                }
            }
            if (procs.isEmpty()) {
                break;
            }
            Thread.sleep(10);
        }
        assertEquals(List.of(), procs, "processes left behind");
        List<String> newMounts = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            if (!mountsBefore.contains(line) && line.contains(testDir.toString())) {
                newMounts.add(line);
            }
        }
        assertEquals(List.of(), newMounts, "mounts left behind on the host");
    }
}
