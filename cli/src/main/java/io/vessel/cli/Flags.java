package io.vessel.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A command's flags, parsed the way the docker CLI's users type them: {@code --env X},
 * {@code --env=X}, {@code -e X}, {@code -eX}, boolean shorts grouped ({@code -it}), {@code --} to
 * end the flags. Commands that take a command line after the image ({@code run}) stop at the first
 * positional argument, so the container's own flags are left alone.
 */
final class Flags {
    enum Kind { BOOL, VALUE, LIST }

    private record Def(String name, char shortName, Kind kind, String help) {
    }

    private final String command;
    private final boolean stopAtFirstPositional;
    private final Map<String, Def> byName = new LinkedHashMap<>();
    private final Map<Character, Def> byShort = new HashMap<>();
    private final Map<String, List<String>> values = new HashMap<>();
    private final List<String> positional = new ArrayList<>();

    Flags(String command, boolean stopAtFirstPositional) {
        this.command = command;
        this.stopAtFirstPositional = stopAtFirstPositional;
        bool("help", 'h', "print this help");
    }

    Flags bool(String name, char shortName, String help) {
        return def(new Def(name, shortName, Kind.BOOL, help));
    }

    Flags value(String name, char shortName, String help) {
        return def(new Def(name, shortName, Kind.VALUE, help));
    }

    Flags list(String name, char shortName, String help) {
        return def(new Def(name, shortName, Kind.LIST, help));
    }

    private Flags def(Def d) {
        byName.put(d.name(), d);
        if (d.shortName() != 0) {
            byShort.put(d.shortName(), d);
        }
        return this;
    }

    /** Parses {@code args}; a flag the command does not have is a usage error naming it. */
    Flags parse(List<String> args) throws UsageError {
        boolean flagsDone = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (flagsDone || a.equals("-") || !a.startsWith("-")) {
                positional.add(a);
                if (stopAtFirstPositional) {
                    flagsDone = true;
                }
                continue;
            }
            if (a.equals("--")) {
                flagsDone = true;
                continue;
            }
            if (a.startsWith("--")) {
                String name = a.substring(2);
                String value = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                Def d = byName.get(name);
                if (d == null) {
                    throw new UsageError("unknown flag: --" + name);
                }
                if (d.kind() == Kind.BOOL) {
                    set(d, value == null ? "true" : checkBool(d, value));
                } else {
                    if (value == null) {
                        if (i + 1 >= args.size()) {
                            throw new UsageError("flag needs an argument: --" + name);
                        }
                        value = args.get(++i);
                    }
                    set(d, value);
                }
                continue;
            }
            // -abc: booleans grouped; a value flag takes the rest of the word or the next argument
            for (int j = 1; j < a.length(); j++) {
                char c = a.charAt(j);
                Def d = byShort.get(c);
                if (d == null) {
                    throw new UsageError("unknown shorthand flag: '" + c + "' in " + a);
                }
                if (d.kind() == Kind.BOOL) {
                    set(d, "true");
                    continue;
                }
                String value;
                if (j + 1 < a.length()) {
                    value = a.substring(j + 1);
                    if (value.startsWith("=")) {
                        value = value.substring(1);
                    }
                } else if (i + 1 < args.size()) {
                    value = args.get(++i);
                } else {
                    throw new UsageError("flag needs an argument: '" + c + "' in -" + c);
                }
                set(d, value);
                break;
            }
        }
        return this;
    }

    private static String checkBool(Def d, String v) throws UsageError {
        if (!v.equals("true") && !v.equals("false")) {
            throw new UsageError("invalid argument \"" + v + "\" for --" + d.name() + ": true or false");
        }
        return v;
    }

    private void set(Def d, String v) {
        List<String> l = values.computeIfAbsent(d.name(), k -> new ArrayList<>());
        if (d.kind() != Kind.LIST) {
            l.clear();
        }
        l.add(v);
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    boolean bool(String name) {
        List<String> v = values.get(name);
        return v != null && v.getLast().equals("true");
    }

    String value(String name) {
        List<String> v = values.get(name);
        return v == null ? null : v.getLast();
    }

    String value(String name, String otherwise) {
        String v = value(name);
        return v == null ? otherwise : v;
    }

    List<String> list(String name) {
        return values.getOrDefault(name, List.of());
    }

    List<String> positional() {
        return positional;
    }

    /** The positional argument at {@code index}, or a usage error saying what is missing. */
    String arg(int index, String what) throws UsageError {
        if (index >= positional.size()) {
            throw new UsageError("\"vessel " + command + "\" requires " + what);
        }
        return positional.get(index);
    }

    void atMost(int n) throws UsageError {
        if (positional.size() > n) {
            throw new UsageError("\"vessel " + command + "\" accepts at most " + n + " argument"
                    + (n == 1 ? "" : "s") + ", got " + positional.size());
        }
    }

    /** The flags as a help text block. */
    String help() {
        StringBuilder b = new StringBuilder("Options:\n");
        for (Def d : byName.values()) {
            String names = (d.shortName() != 0 ? "-" + d.shortName() + ", " : "    ") + "--" + d.name()
                    + (d.kind() == Kind.BOOL ? "" : d.kind() == Kind.LIST ? " list" : " string");
            b.append("  ").append(names).append(" ".repeat(Math.max(2, 30 - names.length()))).append(d.help()).append('\n');
        }
        return b.toString();
    }
}
