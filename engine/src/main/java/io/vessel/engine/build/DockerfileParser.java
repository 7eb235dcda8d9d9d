package io.vessel.engine.build;

import io.vessel.json.Json;
import io.vessel.json.JsonException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Dockerfile reader behind {@link Dockerfile#parse}: parser directives, comments, line
 * continuations, here-documents, then one instruction per logical line, each checked for its
 * arguments and flags.
 */
final class DockerfileParser {
    private static final Pattern DIRECTIVE = Pattern.compile("^#\\s*([a-zA-Z][a-zA-Z0-9]*)\\s*=\\s*(.+?)\\s*$");
    private static final Set<String> DIRECTIVES = Set.of("escape", "syntax", "check");
    private static final Pattern HEREDOC = Pattern.compile("<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\\2");
    private static final Pattern STAGE_NAME = Pattern.compile("[a-z][a-z0-9_.-]*");
    private static final Pattern DURATION_PART = Pattern.compile("([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h)");

    private final String fileName;
    private final String[] lines;
    private char escape = '\\';
    private int next;

    DockerfileParser(String text, String fileName) {
        this.fileName = fileName;
        String t = text.startsWith("\uFEFF") ? text.substring(1) : text;
        this.lines = t.split("\r?\n", -1);
    }

    static Instruction single(String text, char escape, String fileName, int line) {
        DockerfileParser p = new DockerfileParser(text, fileName);
        p.escape = escape;
        String joined = text.strip();
        return p.instruction(joined, line, List.of());
    }

    Dockerfile parse() {
        directives();
        List<Instruction.Arg> globalArgs = new ArrayList<>();
        List<Dockerfile.Stage> stages = new ArrayList<>();
        Instruction.From from = null;
        List<Instruction> body = new ArrayList<>();
        while (next < lines.length) {
            int start = next + 1;
            String first = lines[next++];
            String trimmed = first.stripLeading();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            String joined = logicalLine(trimmed);
            List<Instruction.Heredoc> heredocs = heredocs(joined, start);
            Instruction ins = instruction(joined, start, heredocs);
            if (ins instanceof Instruction.From f) {
                if (from != null) {
                    stages.add(new Dockerfile.Stage(stages.size(), from, body));
                }
                from = f;
                body = new ArrayList<>();
            } else if (from == null) {
                if (ins instanceof Instruction.Arg a) {
                    globalArgs.add(a);
                } else {
                    throw error(start, "no FROM before " + ins.keyword()
                            + ": only ARG may come before the first FROM");
                }
            } else {
                body.add(ins);
            }
        }
        if (from == null) {
            throw error(1, "no FROM instruction: a Dockerfile needs at least one build stage");
        }
        stages.add(new Dockerfile.Stage(stages.size(), from, body));
        return new Dockerfile(fileName, escape, globalArgs, stages);
    }

    private void directives() {
        Set<String> seen = new java.util.HashSet<>();
        while (next < lines.length) {
            Matcher m = DIRECTIVE.matcher(lines[next]);
            if (!m.matches()) {
                return;
            }
            String key = m.group(1).toLowerCase(Locale.ROOT);
            if (!DIRECTIVES.contains(key)) {
                return;
            }
            if (!seen.add(key)) {
                throw error(next + 1, "only one " + key + " parser directive may be given");
            }
            if (key.equals("escape")) {
                String v = m.group(2);
                if (!v.equals("\\") && !v.equals("`")) {
                    throw error(next + 1, "invalid escape character '" + v + "': it must be \\ or `");
                }
                escape = v.charAt(0);
            }
            next++;
        }
    }

    /** Joins continuation lines (skipping comment and empty lines among them, as Docker does). */
    private String logicalLine(String first) {
        StringBuilder out = new StringBuilder();
        String line = first;
        while (true) {
            int cut = continuation(line);
            if (cut < 0) {
                out.append(line);
                return out.toString();
            }
            out.append(line, 0, cut);
            String following = null;
            while (next < lines.length) {
                String candidate = lines[next++];
                String t = candidate.stripLeading();
                if (!t.isEmpty() && !t.startsWith("#")) {
                    following = candidate;
                    break;
                }
            }
            if (following == null) {
                return out.toString();
            }
            line = following;
        }
    }

    /** Where the trailing escape character is (followed only by blanks), or -1. */
    private int continuation(String line) {
        int end = line.length();
        while (end > 0 && (line.charAt(end - 1) == ' ' || line.charAt(end - 1) == '\t')) {
            end--;
        }
        return end > 0 && line.charAt(end - 1) == escape ? end - 1 : -1;
    }

    /** Reads the bodies of the here-documents the instruction opens, from the lines after it. */
    private List<Instruction.Heredoc> heredocs(String joined, int start) {
        String cmd = joined.split("[ \t]+", 2)[0].toUpperCase(Locale.ROOT);
        if (!cmd.equals("RUN") && !cmd.equals("COPY")) {
            return List.of();
        }
        List<Instruction.Heredoc> out = new ArrayList<>();
        Matcher m = HEREDOC.matcher(joined);
        while (m.find()) {
            boolean chomp = !m.group(1).isEmpty();
            String name = m.group(3);
            StringBuilder body = new StringBuilder();
            boolean closed = false;
            while (next < lines.length) {
                String l = lines[next++];
                if (chomp) {
                    l = l.replaceFirst("^\t+", "");
                }
                if (l.equals(name)) {
                    closed = true;
                    break;
                }
                body.append(l).append('\n');
            }
            if (!closed) {
                throw error(start, "here-document <<" + name + " is not closed: no line \"" + name + "\" follows");
            }
            out.add(new Instruction.Heredoc(name, body.toString(), m.group(2).isEmpty()));
        }
        return out;
    }

    private DockerfileException error(int line, String message) {
        return new DockerfileException(fileName, line, message);
    }

    private Instruction instruction(String joined, int line, List<Instruction.Heredoc> heredocs) {
        String[] split = joined.strip().split("[ \t]+", 2);
        String keyword = split[0].toUpperCase(Locale.ROOT);
        String rest = split.length > 1 ? split[1].strip() : "";
        Map<String, String> flags = new LinkedHashMap<>();
        rest = flags(rest, flags, line);
        String text = joined.strip();
        Flags f = new Flags(keyword, flags, line);
        Instruction ins = switch (keyword) {
            case "FROM" -> from(line, text, rest, f);
            case "RUN" -> {
                f.refuse("mount", "network", "security");
                f.done();
                Instruction.Command c = command(keyword, line, rest, heredocs);
                if (heredocs.size() == 1 && HEREDOC.matcher(rest).matches()) {
                    c = Instruction.Command.shell(heredocs.getFirst().content()); // RUN <<EOF: the body is the script
                } else if (!heredocs.isEmpty() && c.shellForm()) {
                    c = Instruction.Command.shell(withHeredocs(rest, heredocs));
                }
                yield new Instruction.Run(line, text, c, heredocs);
            }
            case "CMD" -> {
                f.done();
                yield new Instruction.Cmd(line, text, command(keyword, line, rest, List.of()));
            }
            case "ENTRYPOINT" -> {
                f.done();
                yield new Instruction.Entrypoint(line, text, command(keyword, line, rest, List.of()));
            }
            case "COPY" -> {
                String from = f.string("from");
                String chown = f.string("chown");
                String chmod = f.string("chmod");
                boolean link = f.bool("link");
                f.done();
                List<String> words = list(keyword, line, rest);
                if (words.size() < 2) {
                    throw error(line, "COPY requires at least two arguments (sources and a destination), got "
                            + words.size());
                }
                yield new Instruction.Copy(line, text, words.subList(0, words.size() - 1), words.getLast(),
                        from, chown, chmod, link, heredocs);
            }
            case "ADD" -> {
                f.refuse("checksum", "keep-git-dir");
                String chown = f.string("chown");
                String chmod = f.string("chmod");
                boolean link = f.bool("link");
                f.done();
                List<String> words = list(keyword, line, rest);
                if (words.size() < 2) {
                    throw error(line, "ADD requires at least two arguments (sources and a destination), got "
                            + words.size());
                }
                yield new Instruction.Add(line, text, words.subList(0, words.size() - 1), words.getLast(),
                        chown, chmod, link);
            }
            case "ENV" -> {
                f.done();
                yield new Instruction.Env(line, text, nameValues(keyword, line, rest));
            }
            case "LABEL" -> {
                f.done();
                yield new Instruction.Label(line, text, nameValues(keyword, line, rest));
            }
            case "ARG" -> {
                f.done();
                List<String> words = words(rest);
                if (words.isEmpty()) {
                    throw error(line, "ARG requires at least one argument");
                }
                List<Instruction.ArgDecl> decls = new ArrayList<>();
                for (String w : words) {
                    int eq = w.indexOf('=');
                    String name = eq < 0 ? w : w.substring(0, eq);
                    if (name.isEmpty()) {
                        throw error(line, "ARG name is empty in \"" + w + "\"");
                    }
                    decls.add(new Instruction.ArgDecl(name, eq < 0 ? null : w.substring(eq + 1)));
                }
                yield new Instruction.Arg(line, text, decls);
            }
            case "WORKDIR" -> new Instruction.Workdir(line, text, one(keyword, line, rest, f));
            case "USER" -> new Instruction.User(line, text, one(keyword, line, rest, f));
            case "STOPSIGNAL" -> new Instruction.StopSignal(line, text, one(keyword, line, rest, f));
            case "MAINTAINER" -> new Instruction.Maintainer(line, text, one(keyword, line, rest, f));
            case "EXPOSE" -> {
                f.done();
                List<String> ports = blankSplit(rest);
                if (ports.isEmpty()) {
                    throw error(line, "EXPOSE requires at least one argument");
                }
                yield new Instruction.Expose(line, text, ports);
            }
            case "VOLUME" -> {
                f.done();
                List<String> paths = list(keyword, line, rest);
                if (paths.isEmpty()) {
                    throw error(line, "VOLUME requires at least one argument");
                }
                for (String p : paths) {
                    if (p.isBlank()) {
                        throw error(line, "VOLUME paths may not be empty strings");
                    }
                }
                yield new Instruction.Volume(line, text, paths);
            }
            case "SHELL" -> {
                f.done();
                List<String> shell = json(rest);
                if (shell == null) {
                    throw error(line, "SHELL requires its arguments in JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]");
                }
                if (shell.isEmpty()) {
                    throw error(line, "SHELL requires at least one argument");
                }
                yield new Instruction.Shell(line, text, shell);
            }
            case "HEALTHCHECK" -> healthcheck(line, text, rest, f);
            case "ONBUILD" -> {
                f.done();
                if (rest.isEmpty()) {
                    throw error(line, "ONBUILD requires an instruction as its argument");
                }
                String trigger = rest.split("[ \t]+", 2)[0].toUpperCase(Locale.ROOT);
                if (trigger.equals("ONBUILD") || trigger.equals("FROM") || trigger.equals("MAINTAINER")) {
                    throw error(line, trigger + " is not allowed as an ONBUILD trigger");
                }
                instruction(rest, line, List.of()); // checked now, run by the builds that use this image
                yield new Instruction.Onbuild(line, text, rest);
            }
            default -> throw error(line, "unknown instruction: " + split[0]);
        };
        return ins;
    }

    private Instruction from(int line, String text, String rest, Flags f) {
        String platform = f.string("platform");
        f.done();
        List<String> words = blankSplit(rest);
        if (words.size() == 1) {
            return new Instruction.From(line, text, words.getFirst(), null, platform);
        }
        if (words.size() == 3 && words.get(1).equalsIgnoreCase("AS")) {
            String name = words.get(2).toLowerCase(Locale.ROOT);
            if (!STAGE_NAME.matcher(name).matches()) {
                throw error(line, "invalid stage name \"" + words.get(2)
                        + "\": it must start with a letter and contain only letters, digits, '-', '_' and '.'");
            }
            return new Instruction.From(line, text, words.getFirst(), words.get(2), platform);
        }
        throw error(line, "FROM requires one argument, or three: FROM <image> [AS <name>]");
    }

    private Instruction healthcheck(int line, String text, String rest, Flags f) {
        Duration interval = duration(f.string("interval"), "interval", line);
        Duration timeout = duration(f.string("timeout"), "timeout", line);
        Duration startPeriod = duration(f.string("start-period"), "start-period", line);
        Duration startInterval = duration(f.string("start-interval"), "start-interval", line);
        String retriesText = f.string("retries");
        f.done();
        String[] split = rest.split("[ \t]+", 2);
        String kind = split[0].toUpperCase(Locale.ROOT);
        if (kind.equals("NONE")) {
            if (split.length > 1 || interval != null || timeout != null || startPeriod != null
                    || startInterval != null || retriesText != null) {
                throw error(line, "HEALTHCHECK NONE takes no arguments or flags");
            }
            return new Instruction.Healthcheck(line, text, List.of("NONE"), null, null, null, null, null);
        }
        if (!kind.equals("CMD")) {
            throw error(line, split[0].isEmpty() ? "HEALTHCHECK requires CMD <command> or NONE"
                    : "unknown HEALTHCHECK type \"" + split[0] + "\" (expected CMD or NONE)");
        }
        Integer retries = null;
        if (retriesText != null) {
            try {
                retries = Integer.parseInt(retriesText);
            } catch (NumberFormatException e) {
                throw error(line, "HEALTHCHECK --retries=" + retriesText + " is not an integer");
            }
            if (retries < 0) {
                throw error(line, "HEALTHCHECK --retries may not be negative");
            }
        }
        Instruction.Command c = command("HEALTHCHECK CMD", line, split.length > 1 ? split[1].strip() : "", List.of());
        List<String> test = new ArrayList<>();
        test.add(c.shellForm() ? "CMD-SHELL" : "CMD");
        test.addAll(c.args());
        return new Instruction.Healthcheck(line, text, test, interval, timeout, startPeriod, startInterval, retries);
    }

    /** A Go duration ({@code 30s}, {@code 1m30s}, {@code 1.5h}, {@code 0}); at least 1ms unless 0. */
    private Duration duration(String text, String flag, int line) {
        if (text == null) {
            return null;
        }
        if (text.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = DURATION_PART.matcher(text);
        int pos = 0;
        java.math.BigDecimal nanos = java.math.BigDecimal.ZERO;
        while (pos < text.length()) {
            if (!m.find(pos) || m.start() != pos) {
                throw error(line, "HEALTHCHECK --" + flag + "=" + text
                        + " is not a duration (e.g. 30s, 1m30s, 500ms)");
            }
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            };
            nanos = nanos.add(new java.math.BigDecimal(m.group(1)).multiply(java.math.BigDecimal.valueOf(unit)));
            pos = m.end();
        }
        Duration d = Duration.ofNanos(nanos.longValue());
        if (d.compareTo(Duration.ofMillis(1)) < 0 && !d.isZero()) {
            throw error(line, "HEALTHCHECK --" + flag + "=" + text + " must be 0 or at least 1ms");
        }
        return d;
    }

    /** Splits off leading {@code --name[=value]} words into {@code flags}; returns the rest. */
    private String flags(String rest, Map<String, String> flags, int line) {
        String r = rest;
        while (r.startsWith("--")) {
            int end = 0;
            while (end < r.length() && r.charAt(end) != ' ' && r.charAt(end) != '\t') {
                end++;
            }
            String word = r.substring(0, end);
            r = r.substring(end).stripLeading();
            if (word.equals("--")) {
                break;
            }
            int eq = word.indexOf('=');
            String name = eq < 0 ? word.substring(2) : word.substring(2, eq);
            if (flags.containsKey(name)) {
                throw error(line, "flag --" + name + " given twice");
            }
            flags.put(name, eq < 0 ? null : word.substring(eq + 1));
        }
        return r;
    }

    /** The flags of one instruction, taken one by one; {@link #done} refuses what is left. */
    private final class Flags {
        private final String keyword;
        private final Map<String, String> flags;
        private final int line;

        Flags(String keyword, Map<String, String> flags, int line) {
            this.keyword = keyword;
            this.flags = flags;
            this.line = line;
        }

        String string(String name) {
            if (!flags.containsKey(name)) {
                return null;
            }
            String v = flags.remove(name);
            if (v == null || v.isEmpty()) {
                throw error(line, keyword + " --" + name + " needs a value: --" + name + "=VALUE");
            }
            return v;
        }

        boolean bool(String name) {
            if (!flags.containsKey(name)) {
                return false;
            }
            String v = flags.remove(name);
            if (v == null || v.equalsIgnoreCase("true")) {
                return true;
            }
            if (v.equalsIgnoreCase("false")) {
                return false;
            }
            throw error(line, keyword + " --" + name + "=" + v + ": expected true or false");
        }

        void refuse(String... names) {
            for (String n : names) {
                if (flags.containsKey(n)) {
                    throw error(line, keyword + " --" + n + " is not supported by Vessel's builder");
                }
            }
        }

        void done() {
            if (!flags.isEmpty()) {
                throw error(line, "unknown flag for " + keyword + ": --" + flags.keySet().iterator().next());
            }
        }
    }

    private String one(String keyword, int line, String rest, Flags f) {
        f.done();
        if (rest.isEmpty()) {
            throw error(line, keyword + " requires exactly one argument");
        }
        return rest;
    }

    /** Exec form from a JSON array of strings, else shell form (Docker falls back the same way). */
    private Instruction.Command command(String keyword, int line, String rest, List<Instruction.Heredoc> heredocs) {
        List<String> json = json(rest);
        if (json != null) {
            return Instruction.Command.exec(json);
        }
        if (rest.isEmpty()) {
            throw error(line, keyword + " requires at least one argument");
        }
        return Instruction.Command.shell(rest);
    }

    /** The shell-form line with its here-documents, as a POSIX shell reads them. */
    private static String withHeredocs(String rest, List<Instruction.Heredoc> heredocs) {
        StringBuilder out = new StringBuilder(rest).append('\n');
        for (Instruction.Heredoc h : heredocs) {
            out.append(h.content()).append(h.name()).append('\n');
        }
        return out.toString();
    }

    /** A JSON array of strings, or null when {@code rest} is not one. */
    private static List<String> json(String rest) {
        if (!rest.startsWith("[")) {
            return null;
        }
        Object v;
        try {
            v = Json.parse(rest);
        } catch (JsonException e) {
            return null;
        }
        if (!(v instanceof List<?> l)) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (Object o : l) {
            if (!(o instanceof String s)) {
                return null;
            }
            out.add(s);
        }
        return out;
    }

    private List<String> list(String keyword, int line, String rest) {
        List<String> json = json(rest);
        return json != null ? json : blankSplit(rest);
    }

    private static List<String> blankSplit(String rest) {
        List<String> out = new ArrayList<>();
        for (String w : rest.strip().split("[ \t]+")) {
            if (!w.isEmpty()) {
                out.add(w);
            }
        }
        return out;
    }

    /**
     * Words separated by blanks outside quotes; quotes and escapes are kept for the expansion
     * that follows (Docker's parseWords).
     */
    private List<String> words(String rest) {
        List<String> out = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (int i = 0; i < rest.length(); i++) {
            char c = rest.charAt(i);
            boolean blank = c == ' ' || c == '\t';
            if (!inWord) {
                if (blank) {
                    continue;
                }
                inWord = true;
            }
            if (blank && quote == 0) {
                out.add(word.toString());
                word.setLength(0);
                inWord = false;
                continue;
            }
            if (c == escape && quote != '\'') {
                if (i + 1 == rest.length()) {
                    continue;
                }
                word.append(c);
                c = rest.charAt(++i);
            } else if (quote != 0 && c == quote) {
                quote = 0;
            } else if (quote == 0 && (c == '\'' || c == '"')) {
                quote = c;
            }
            word.append(c);
        }
        if (inWord) {
            out.add(word.toString());
        }
        return out;
    }

    /** ENV and LABEL: {@code k=v k2="v 2"} or the old {@code k value with spaces}. */
    private List<Instruction.KeyValue> nameValues(String keyword, int line, String rest) {
        List<String> words = words(rest);
        if (words.isEmpty()) {
            throw error(line, keyword + " requires at least one argument");
        }
        List<Instruction.KeyValue> out = new ArrayList<>();
        if (!words.getFirst().contains("=")) {
            String[] kv = rest.split("[ \t]+", 2);
            if (kv.length < 2 || kv[1].isBlank()) {
                throw error(line, keyword + " " + kv[0] + " has no value: write " + keyword + " "
                        + kv[0] + "=VALUE or " + keyword + " " + kv[0] + " VALUE");
            }
            out.add(new Instruction.KeyValue(kv[0], kv[1].strip()));
            return out;
        }
        for (String w : words) {
            int eq = w.indexOf('=');
            if (eq < 0) {
                throw error(line, keyword + " \"" + w + "\" has no '=': every word must be NAME=VALUE");
            }
            if (eq == 0) {
                throw error(line, keyword + " names may not be empty (in \"" + w + "\")");
            }
            out.add(new Instruction.KeyValue(w.substring(0, eq), w.substring(eq + 1)));
        }
        return out;
    }
}
