package io.vessel.engine.build;

import java.util.ArrayDeque;
import java.util.Deque;

/** Slash-separated path names as Go's path.Clean treats them, for WORKDIR, COPY and .dockerignore. */
final class PathNames {
    private PathNames() {
    }

    /**
     * The shortest equivalent of {@code path}: repeated slashes, {@code .} and trailing slashes
     * removed, {@code ..} resolved lexically ({@code /..} is {@code /}). Empty gives {@code .}.
     */
    static String clean(String path) {
        boolean absolute = path.startsWith("/");
        Deque<String> parts = new ArrayDeque<>();
        int ups = 0;
        for (String p : path.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                if (!parts.isEmpty()) {
                    parts.removeLast();
                } else if (!absolute) {
                    ups++;
                }
                continue;
            }
            parts.addLast(p);
        }
        StringBuilder out = new StringBuilder(absolute ? "/" : "");
        for (int i = 0; i < ups; i++) {
            out.append(out.isEmpty() || out.charAt(out.length() - 1) == '/' ? "" : "/").append("..");
        }
        for (String p : parts) {
            if (!out.isEmpty() && out.charAt(out.length() - 1) != '/') {
                out.append('/');
            }
            out.append(p);
        }
        return out.isEmpty() ? "." : out.toString();
    }

    /** {@code path} resolved against the absolute directory {@code dir}, cleaned. */
    static String resolve(String dir, String path) {
        return clean(path.startsWith("/") ? path : dir + "/" + path);
    }
}
