package io.vessel.runtime.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line options in the style runc's users rely on: {@code --name value}, {@code --name=value},
 * {@code -n value}, boolean flags, options before the positional arguments (and after them, too).
 */
final class Args {
    final Map<String, String> values = new HashMap<>();
    final Map<String, List<String>> multi = new HashMap<>();
    final List<String> positional = new ArrayList<>();

    /**
     * Parses {@code args} for command {@code cmd}: {@code flags} are booleans, {@code valued} take a
     * value, {@code repeated} take a value and may repeat; aliases map short names to long ones.
     */
    static Args parse(String cmd, List<String> args, Set<String> flags, Set<String> valued, Set<String> repeated,
                      Map<String, String> aliases) throws UsageError {
        Args a = new Args();
        boolean onlyPositional = false;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (onlyPositional || !arg.startsWith("-") || arg.equals("-")) {
                a.positional.add(arg);
                // runc stops parsing flags at the first positional for exec (the command follows)
                // and for ps (ps(1)'s own options follow: "ps ID -o pid,comm")
                if ((cmd.equals("exec") || cmd.equals("ps")) && a.positional.size() == 1) {
                    onlyPositional = true;
                }
                continue;
            }
            if (arg.equals("--")) {
                onlyPositional = true;
                continue;
            }
            String name = Args.stripDashes(arg);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            name = aliases.getOrDefault(name, name);
            if (flags.contains(name)) {
                a.values.put(name, value == null ? "true" : value);
            } else if (valued.contains(name) || repeated.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size()) {
                        throw new UsageError(cmd + ": option --" + name + " needs a value");
                    }
                    value = args.get(++i);
                }
                if (repeated.contains(name)) {
                    a.multi.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
                } else {
                    a.values.put(name, value);
                }
            } else {
                throw new UsageError(cmd + ": unknown option " + arg);
            }
        }
        return a;
    }

    /** "--name" or "-n" without its dashes (plain code: a regex costs milliseconds in a cold JVM). */
    static String stripDashes(String arg) {
        return arg.startsWith("--") ? arg.substring(2) : arg.startsWith("-") ? arg.substring(1) : arg;
    }

    boolean flag(String name) {
        String v = values.get(name);
        return v != null && !v.equals("false");
    }

    String value(String name) {
        return values.get(name);
    }

    List<String> all(String name) {
        return multi.getOrDefault(name, List.of());
    }

    int intValue(String name, int dflt) throws UsageError {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageError("--" + name + " must be a number, not \"" + v + "\"");
        }
    }

    /** Exactly {@code n} positional arguments (the container id, etc.). */
    String positional(String cmd, int index, String what) throws UsageError {
        if (positional.size() <= index) {
            throw new UsageError(cmd + ": missing " + what);
        }
        return positional.get(index);
    }

    static final class UsageError extends Exception {
        UsageError(String message) {
            super(message);
        }
    }
}
