package io.vessel.engine.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Resolves a path inside a container's root file system as the container would see it: symbolic
 * links are followed with the root as {@code /}, and {@code ..} stops at the root. The engine
 * reads the image's {@code /etc/passwd}, creates the working directory and copies image content
 * into volumes on the host, where a link such as {@code /etc/passwd -> /etc/shadow} must not
 * reach the host's files.
 */
public final class RootPath {
    /** Linux's limit on links followed in one lookup. */
    private static final int MAX_LINKS = 40;

    private RootPath() {
    }

    /**
     * The host path of {@code path} (absolute, in the container) under {@code root}; every
     * component that exists is resolved, the missing tail is appended as it is.
     */
    public static Path resolve(Path root, String path) throws IOException {
        Deque<String> todo = new ArrayDeque<>();
        push(todo, path);
        Deque<String> done = new ArrayDeque<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String name = todo.pop();
            if (name.isEmpty() || name.equals(".")) {
                continue;
            }
            if (name.equals("..")) {
                if (!done.isEmpty()) {
                    done.removeLast();
                }
                continue;
            }
            Path candidate = join(root, done).resolve(name);
            if (Files.isSymbolicLink(candidate)) {
                if (++links > MAX_LINKS) {
                    throw new IOException("too many levels of symbolic links resolving " + path + " in " + root);
                }
                String target = Files.readSymbolicLink(candidate).toString();
                if (target.startsWith("/")) {
                    done.clear();
                }
                push(todo, target);
                continue;
            }
            done.addLast(name);
        }
        return join(root, done);
    }

    /** Like {@link #resolve} but null when the path does not exist. */
    public static Path existing(Path root, String path) throws IOException {
        Path p = resolve(root, path);
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS) ? p : null;
    }

    private static void push(Deque<String> todo, String path) {
        String[] parts = path.split("/");
        for (int i = parts.length - 1; i >= 0; i--) {
            todo.push(parts[i]);
        }
    }

    private static Path join(Path root, Deque<String> parts) {
        Path p = root;
        for (String s : parts) {
            p = p.resolve(s);
        }
        return p;
    }
}
