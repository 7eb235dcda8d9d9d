package io.vessel.runtime.service;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One command a client (native/vessel-runtime.c) asks the service to run: the client's argv
 * (without argv[0]), working directory and environment, and how many descriptors came with it
 * (its stdin, stdout, stderr, then its descriptors 3.. that the command passes on).
 *
 * <p>Wire form, one SOCK_SEQPACKET message, every field ending in a NUL byte:
 * {@code "vessel-runtime-request 1", fd count, cwd, argc, argv..., envc, env...}; the
 * descriptors travel with it as SCM_RIGHTS.
 */
public record Request(int fdCount, Path cwd, List<String> argv, Map<String, String> env) {
    /** The first field: names the protocol and its version, so that a stranger is told apart. */
    public static final String MAGIC = "vessel-runtime-request 1";
    /** The client's stdin, stdout and stderr always come first. */
    public static final int STDIO_FDS = 3;

    /** Parses a request; an error names the field that is wrong. */
    public static Request parse(byte[] data) {
        List<String> f = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < data.length; i++) {
            if (data[i] == 0) {
                f.add(new String(data, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start != data.length) {
            throw new IllegalArgumentException("request: the last field does not end in a NUL byte");
        }
        if (f.isEmpty() || !f.get(0).equals(MAGIC)) {
            throw new IllegalArgumentException("request: not a vessel-runtime request (expected \"" + MAGIC + "\" first)");
        }
        int at = 1;
        int fds = number(f, at++, "descriptor count");
        if (fds < STDIO_FDS) {
            throw new IllegalArgumentException("request: descriptor count " + fds + " is below " + STDIO_FDS);
        }
        if (at >= f.size()) {
            throw new IllegalArgumentException("request: no working directory");
        }
        String cwd = f.get(at++);
        if (!cwd.startsWith("/")) {
            throw new IllegalArgumentException("request: working directory \"" + cwd + "\" is not absolute");
        }
        int argc = number(f, at++, "argc");
        if (at + argc > f.size()) {
            throw new IllegalArgumentException("request: argc " + argc + " but only " + (f.size() - at) + " fields follow");
        }
        List<String> argv = List.copyOf(f.subList(at, at + argc));
        at += argc;
        int envc = number(f, at++, "envc");
        if (at + envc != f.size()) {
            throw new IllegalArgumentException("request: envc " + envc + " but " + (f.size() - at) + " fields follow");
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (String e : f.subList(at, at + envc)) {
            int eq = e.indexOf('=');
            if (eq > 0) {
                env.putIfAbsent(e.substring(0, eq), e.substring(eq + 1));
            }
        }
        return new Request(fds, Path.of(cwd), argv, java.util.Collections.unmodifiableMap(env));
    }

    /** The wire form (what the C client builds; used by tests and by Java clients). */
    public byte[] encode() {
        StringBuilder sb = new StringBuilder();
        sb.append(MAGIC).append('\0').append(fdCount).append('\0').append(cwd).append('\0');
        sb.append(argv.size()).append('\0');
        argv.forEach(a -> sb.append(a).append('\0'));
        sb.append(env.size()).append('\0');
        env.forEach((k, v) -> sb.append(k).append('=').append(v).append('\0'));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static int number(List<String> f, int at, String what) {
        if (at >= f.size()) {
            throw new IllegalArgumentException("request: no " + what);
        }
        try {
            int n = Integer.parseInt(f.get(at));
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("request: " + what + " \"" + f.get(at) + "\" is not a count");
        }
    }
}
