package io.vessel.cli;

import io.vessel.json.Json;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The part of Go's text/template that docker's {@code --format} is used with, over JSON values
 * (maps, lists, strings, numbers, booleans, null): text and {@code {{actions}}} with {@code {{-}}
 * and {@code -}}} trimming; fields ({@code .State.Running}, {@code $.Name}, {@code $v.Source});
 * pipelines with {@code |}; {@code if}/{@code else if}/{@code else}, {@code range} (with
 * {@code $v :=} or {@code $k, $v :=}) and {@code with}, each closed by {@code end}; Go's functions
 * {@code index len print printf println not and or eq ne lt le gt ge} and docker's {@code json
 * join split upper lower title truncate pad}. Values print as Go's {@code %v} does: a missing
 * field as {@code <no value>}, a map as {@code map[k:v]}, a list as {@code [a b]}.
 *
 * <p>Errors name the template and what is wrong in it, as {@link TemplateError}s.
 */
final class GoTemplate {
    /** A parse or execution error, with the template's text in the message. */
    static final class TemplateError extends Exception {
        TemplateError(String template, String message) {
            super("template \"" + template + "\": " + message);
        }
    }

    private sealed interface Node permits Text, Action, If, Range, With {
    }

    private record Text(String text) implements Node {
    }

    private record Action(Pipeline pipeline) implements Node {
    }

    private record If(List<Pipeline> conditions, List<List<Node>> branches, List<Node> otherwise) implements Node {
    }

    private record Range(String keyVar, String valueVar, Pipeline over, List<Node> body, List<Node> otherwise)
            implements Node {
    }

    private record With(Pipeline value, List<Node> body, List<Node> otherwise) implements Node {
    }

    /** Commands joined by {@code |}: each one's result is the last argument of the next. */
    private record Pipeline(List<List<Operand>> commands) {
    }

    private sealed interface Operand permits Field, Literal, Function, Nested {
    }

    /** {@code .A.B} from the dot ({@code variable} null), or {@code $x.A.B} from a variable ({@code "$"} is the root). */
    private record Field(String variable, List<String> path) implements Operand {
    }

    private record Literal(Object value) implements Operand {
    }

    private record Function(String name) implements Operand {
    }

    /** {@code (pipeline)}, or {@code (pipeline).A.B}: fields of its result. */
    private record Nested(Pipeline pipeline, List<String> path) implements Operand {
    }

    private final String source;
    private final List<Node> nodes;

    private GoTemplate(String source, List<Node> nodes) {
        this.source = source;
        this.nodes = nodes;
    }

    /** Parses {@code template}; {@code \t} and {@code \n} written as two characters become a tab and a newline, as docker does. */
    static GoTemplate parse(String template) throws TemplateError {
        String text = template.replace("\\t", "\t").replace("\\n", "\n");
        Parser p = new Parser(template, text);
        return new GoTemplate(template, p.nodes(false));
    }

    /** Renders the template with {@code data} as the dot. */
    String render(Object data) throws TemplateError {
        StringBuilder out = new StringBuilder();
        Map<String, Object> vars = new HashMap<>();
        vars.put("$", data);
        run(nodes, data, vars, out);
        return out.toString();
    }

    // ---------------------------------------------------------------- execution

    private void run(List<Node> list, Object dot, Map<String, Object> vars, StringBuilder out) throws TemplateError {
        for (Node n : list) {
            if (n instanceof Text t) {
                out.append(t.text());
            } else if (n instanceof Action a) {
                out.append(print(eval(a.pipeline(), dot, vars)));
            } else if (n instanceof If i) {
                boolean done = false;
                for (int k = 0; k < i.conditions().size() && !done; k++) {
                    if (truth(eval(i.conditions().get(k), dot, vars))) {
                        run(i.branches().get(k), dot, vars, out);
                        done = true;
                    }
                }
                if (!done) {
                    run(i.otherwise(), dot, vars, out);
                }
            } else if (n instanceof With w) {
                Object v = eval(w.value(), dot, vars);
                run(truth(v) ? w.body() : w.otherwise(), truth(v) ? v : dot, vars, out);
            } else if (n instanceof Range r) {
                range(r, dot, vars, out);
            }
        }
    }

    private void range(Range r, Object dot, Map<String, Object> vars, StringBuilder out) throws TemplateError {
        Object over = eval(r.over(), dot, vars);
        List<Map.Entry<Object, Object>> items = new ArrayList<>();
        if (over instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                items.add(Map.entry(i, l.get(i) == null ? NULL : l.get(i)));
            }
        } else if (over instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : new TreeMap<>(m).entrySet()) {
                items.add(Map.entry(e.getKey(), e.getValue() == null ? NULL : e.getValue()));
            }
        } else if (over != null && over != NULL) {
            throw new TemplateError(source, "range cannot iterate over " + print(over));
        }
        if (items.isEmpty()) {
            run(r.otherwise(), dot, vars, out);
            return;
        }
        for (Map.Entry<Object, Object> e : items) {
            Map<String, Object> scope = new HashMap<>(vars);
            Object value = e.getValue() == NULL ? null : e.getValue();
            if (r.keyVar() != null) {
                scope.put(r.keyVar(), e.getKey());
            }
            if (r.valueVar() != null) {
                scope.put(r.valueVar(), value);
            }
            run(r.body(), value, scope, out);
        }
    }

    /** Stands for a null element inside the entry lists of range (Map.entry refuses null). */
    private static final Object NULL = new Object();

    private Object eval(Pipeline p, Object dot, Map<String, Object> vars) throws TemplateError {
        Object result = null;
        boolean first = true;
        for (List<Operand> cmd : p.commands()) {
            List<Operand> args = cmd.subList(1, cmd.size());
            List<Object> values = new ArrayList<>();
            for (Operand a : args) {
                values.add(value(a, dot, vars));
            }
            if (!first) {
                values.add(result);
            }
            Operand head = cmd.getFirst();
            if (head instanceof Function f) {
                result = call(f.name(), values);
            } else if (values.isEmpty()) {
                result = value(head, dot, vars);
            } else {
                throw new TemplateError(source, "cannot give arguments to a value that is not a function");
            }
            first = false;
        }
        return result;
    }

    private Object value(Operand o, Object dot, Map<String, Object> vars) throws TemplateError {
        if (o instanceof Literal l) {
            return l.value();
        } else if (o instanceof Nested n) {
            return fields(eval(n.pipeline(), dot, vars), n.path());
        } else if (o instanceof Function f) {
            return call(f.name(), List.of());
        }
        Field f = (Field) o;
        Object v = dot;
        if (f.variable() != null) {
            if (!vars.containsKey(f.variable())) {
                throw new TemplateError(source, "undefined variable " + f.variable());
            }
            v = vars.get(f.variable());
        }
        return fields(v, f.path());
    }

    private Object fields(Object v, List<String> path) throws TemplateError {
        for (String name : path) {
            if (v instanceof Map<?, ?> m) {
                v = m.get(name);
            } else if (v == null) {
                return null;
            } else {
                throw new TemplateError(source, "can't evaluate field " + name + " in " + typeName(v));
            }
        }
        return v;
    }

    private Object call(String name, List<Object> a) throws TemplateError {
        switch (name) {
            case "json":
                return Json.write(arg(name, a, 0, 1));
            case "upper":
                return print(arg(name, a, 0, 1)).toUpperCase(Locale.ROOT);
            case "lower":
                return print(arg(name, a, 0, 1)).toLowerCase(Locale.ROOT);
            case "title": {
                String s = print(arg(name, a, 0, 1));
                return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
            }
            case "len": {
                Object v = arg(name, a, 0, 1);
                if (v instanceof List<?> l) {
                    return (long) l.size();
                } else if (v instanceof Map<?, ?> m) {
                    return (long) m.size();
                } else if (v instanceof String s) {
                    return (long) s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                }
                throw new TemplateError(source, "len of " + typeName(v));
            }
            case "index": {
                Object v = a.isEmpty() ? null : a.getFirst();
                for (Object key : a.subList(Math.min(1, a.size()), a.size())) {
                    if (v instanceof Map<?, ?> m) {
                        v = m.get(print(key));
                    } else if (v instanceof List<?> l && key instanceof Number n) {
                        int i = n.intValue();
                        if (i < 0 || i >= l.size()) {
                            throw new TemplateError(source, "index " + i + " out of range [0:" + l.size() + "]");
                        }
                        v = l.get(i);
                    } else if (v != null) {
                        throw new TemplateError(source, "cannot index " + typeName(v) + " with " + print(key));
                    }
                }
                return v;
            }
            case "join": {
                Object list = arg(name, a, 0, 2);
                String sep = print(arg(name, a, 1, 2));
                List<String> parts = new ArrayList<>();
                if (list instanceof List<?> l) {
                    for (Object o : l) {
                        parts.add(print(o));
                    }
                } else if (list != null) {
                    parts.add(print(list));
                }
                return String.join(sep, parts);
            }
            case "split":
                return new ArrayList<Object>(List.of(print(arg(name, a, 0, 2)).split(java.util.regex.Pattern.quote(print(arg(name, a, 1, 2))), -1)));
            case "truncate": {
                String s = print(arg(name, a, 0, 2));
                int n = number(arg(name, a, 1, 2)).intValue();
                return s.length() <= n ? s : s.substring(0, Math.max(0, n));
            }
            case "pad": {
                if (a.size() != 3) {
                    throw new TemplateError(source, "pad takes a value, spaces before and spaces after");
                }
                return " ".repeat(number(a.get(1)).intValue()) + print(a.get(0)) + " ".repeat(number(a.get(2)).intValue());
            }
            case "print":
                return joinPrint(a, false);
            case "println":
                return joinPrint(a, true) + "\n";
            case "printf":
                return printf(a);
            case "not":
                return !truth(arg(name, a, 0, 1));
            case "and": {
                Object v = null;
                for (Object o : a) {
                    v = o;
                    if (!truth(o)) {
                        return o;
                    }
                }
                return v;
            }
            case "or": {
                Object v = null;
                for (Object o : a) {
                    v = o;
                    if (truth(o)) {
                        return o;
                    }
                }
                return v;
            }
            case "eq", "ne", "lt", "le", "gt", "ge": {
                Object x = arg(name, a, 0, 2);
                Object y = arg(name, a, 1, 2);
                int c = compare(name, x, y);
                return switch (name) {
                    case "eq" -> c == 0;
                    case "ne" -> c != 0;
                    case "lt" -> c < 0;
                    case "le" -> c <= 0;
                    case "gt" -> c > 0;
                    default -> c >= 0;
                };
            }
            default:
                throw new TemplateError(source, "function \"" + name + "\" not defined");
        }
    }

    private Object arg(String fn, List<Object> a, int i, int count) throws TemplateError {
        if (a.size() != count) {
            throw new TemplateError(source, "wrong number of args for " + fn + ": want " + count + " got " + a.size());
        }
        return a.get(i);
    }

    private BigDecimal number(Object o) throws TemplateError {
        if (o instanceof Number n) {
            return new BigDecimal(n.toString());
        }
        throw new TemplateError(source, "expected a number, got " + print(o));
    }

    private int compare(String fn, Object x, Object y) throws TemplateError {
        if (x instanceof Number && y instanceof Number) {
            return number(x).compareTo(number(y));
        }
        if (x instanceof String s && y instanceof String t) {
            return s.compareTo(t);
        }
        if (fn.equals("eq") || fn.equals("ne")) {
            return java.util.Objects.equals(x, y) ? 0 : 1;
        }
        throw new TemplateError(source, "incompatible types for comparison: " + typeName(x) + " and " + typeName(y));
    }

    private String joinPrint(List<Object> a, boolean spaced) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < a.size(); i++) {
            // Go's print puts a space between operands when neither is a string; println always
            if (i > 0 && (spaced || !(a.get(i) instanceof String) && !(a.get(i - 1) instanceof String))) {
                b.append(' ');
            }
            b.append(print(a.get(i)));
        }
        return b.toString();
    }

    /** Go's verbs %s %v %d %q %t %x %f and %%, with widths, over Java's formatter. */
    private String printf(List<Object> a) throws TemplateError {
        if (a.isEmpty() || !(a.getFirst() instanceof String format)) {
            throw new TemplateError(source, "printf wants a format string first");
        }
        StringBuilder out = new StringBuilder();
        int next = 1;
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            int j = i + 1;
            while (j < format.length() && "-+ 0#.0123456789".indexOf(format.charAt(j)) >= 0) {
                j++;
            }
            if (j >= format.length()) {
                throw new TemplateError(source, "printf: the format ends inside a verb");
            }
            String flags = format.substring(i + 1, j);
            char verb = format.charAt(j);
            i = j;
            if (verb == '%') {
                out.append('%');
                continue;
            }
            Object v = next < a.size() ? a.get(next++) : null;
            String s = switch (verb) {
                case 'd' -> String.format("%" + flags + "d", number(v).toBigInteger());
                case 'f' -> String.format("%" + flags + "f", number(v));
                case 'x' -> v instanceof Number ? String.format("%" + flags + "x", number(v).toBigInteger())
                        : String.format("%" + flags + "s", java.util.HexFormat.of().formatHex(print(v).getBytes()));
                case 'q' -> String.format("%" + flags + "s", Json.write(print(v)));
                default -> String.format("%" + flags + "s", print(v));
            };
            out.append(s);
        }
        return out.toString();
    }

    private static boolean truth(Object v) {
        if (v == null || v == NULL) {
            return false;
        } else if (v instanceof Boolean b) {
            return b;
        } else if (v instanceof Number n) {
            return new BigDecimal(n.toString()).signum() != 0;
        } else if (v instanceof String s) {
            return !s.isEmpty();
        } else if (v instanceof List<?> l) {
            return !l.isEmpty();
        } else if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        return true;
    }

    /** Go's %v of a JSON value. */
    static String print(Object v) {
        if (v == null || v == NULL) {
            return "<no value>";
        } else if (v instanceof Map<?, ?> m) {
            StringBuilder b = new StringBuilder("map[");
            boolean first = true;
            for (Map.Entry<?, ?> e : new TreeMap<>(m).entrySet()) {
                b.append(first ? "" : " ").append(e.getKey()).append(':').append(e.getValue() == null ? "<nil>" : print(e.getValue()));
                first = false;
            }
            return b.append(']').toString();
        } else if (v instanceof List<?> l) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) {
                b.append(i == 0 ? "" : " ").append(l.get(i) == null ? "<nil>" : print(l.get(i)));
            }
            return b.append(']').toString();
        } else if (v instanceof BigDecimal d) {
            return d.stripTrailingZeros().scale() <= 0 ? d.toBigInteger().toString() : d.toString();
        }
        return v.toString();
    }

    private static String typeName(Object v) {
        return v instanceof String ? "string" : v instanceof Number ? "number" : v instanceof Boolean ? "bool"
                : v instanceof List ? "list" : v instanceof Map ? "map" : "nil";
    }

    // ---------------------------------------------------------------- parsing

    private static final class Parser {
        private final String template;
        private final String text;
        private int pos;
        /** The keyword ({@code end}, {@code else ...}) that ended the last {@link #nodes} call, or null at the end. */
        private String stopped;

        Parser(String template, String text) {
            this.template = template;
            this.text = text;
        }

        private TemplateError error(String message) {
            return new TemplateError(template, message);
        }

        /** Nodes up to the end of the text, or, inside a block, up to its {@code else} or {@code end}. */
        List<Node> nodes(boolean inBlock) throws TemplateError {
            List<Node> out = new ArrayList<>();
            stopped = null;
            while (pos < text.length()) {
                int open = text.indexOf("{{", pos);
                String literal = open < 0 ? text.substring(pos) : text.substring(pos, open);
                if (open >= 0 && text.startsWith("{{- ", open)) {
                    literal = literal.stripTrailing();
                }
                if (!literal.isEmpty()) {
                    out.add(new Text(literal));
                }
                if (open < 0) {
                    pos = text.length();
                    break;
                }
                int close = text.indexOf("}}", open + 2);
                if (close < 0) {
                    throw error("unclosed action");
                }
                String inner = text.substring(open + 2, close);
                boolean trimAfter = inner.endsWith(" -");
                if (inner.startsWith("- ")) {
                    inner = inner.substring(2);
                }
                if (trimAfter) {
                    inner = inner.substring(0, inner.length() - 2);
                }
                pos = close + 2;
                if (trimAfter) {
                    while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
                        pos++;
                    }
                }
                inner = inner.strip();
                if (inner.startsWith("/*")) {
                    continue; // a comment
                }
                String keyword = inner.split("\\s+", 2)[0];
                switch (keyword) {
                    case "end", "else" -> {
                        if (!inBlock) {
                            throw error("unexpected {{" + inner + "}}");
                        }
                        stopped = inner;
                        return out;
                    }
                    case "if" -> out.add(ifNode(inner.substring(2).strip()));
                    case "range" -> out.add(rangeNode(inner.substring(5).strip()));
                    case "with" -> out.add(withNode(inner.substring(4).strip()));
                    default -> out.add(new Action(pipeline(inner)));
                }
            }
            if (inBlock) {
                throw error("unexpected end of the template: a block is not closed by {{end}}");
            }
            return out;
        }

        private If ifNode(String condition) throws TemplateError {
            List<Pipeline> conditions = new ArrayList<>();
            List<List<Node>> branches = new ArrayList<>();
            conditions.add(pipeline(condition));
            while (true) {
                branches.add(nodes(true));
                String s = stopped;
                if (s.equals("end")) {
                    return new If(conditions, branches, List.of());
                }
                String rest = s.substring(4).strip();
                if (rest.startsWith("if ")) {
                    conditions.add(pipeline(rest.substring(3).strip()));
                    continue;
                }
                List<Node> otherwise = nodes(true);
                expectEnd();
                return new If(conditions, branches, otherwise);
            }
        }

        private Range rangeNode(String spec) throws TemplateError {
            String keyVar = null;
            String valueVar = null;
            int assign = spec.indexOf(":=");
            if (assign >= 0) {
                String[] vars = spec.substring(0, assign).split(",");
                for (String v : vars) {
                    if (!v.strip().matches("\\$[A-Za-z_][A-Za-z0-9_]*")) {
                        throw error("bad range variable \"" + v.strip() + "\"");
                    }
                }
                if (vars.length == 1) {
                    valueVar = vars[0].strip();
                } else if (vars.length == 2) {
                    keyVar = vars[0].strip();
                    valueVar = vars[1].strip();
                } else {
                    throw error("range takes at most two variables");
                }
                spec = spec.substring(assign + 2).strip();
            }
            Pipeline over = pipeline(spec);
            List<Node> body = nodes(true);
            List<Node> otherwise = List.of();
            if (!stopped.equals("end")) {
                otherwise = nodes(true);
                expectEnd();
            }
            return new Range(keyVar, valueVar, over, body, otherwise);
        }

        private With withNode(String spec) throws TemplateError {
            Pipeline value = pipeline(spec);
            List<Node> body = nodes(true);
            List<Node> otherwise = List.of();
            if (!stopped.equals("end")) {
                otherwise = nodes(true);
                expectEnd();
            }
            return new With(value, body, otherwise);
        }

        private void expectEnd() throws TemplateError {
            if (!"end".equals(stopped)) {
                throw error("{{" + stopped + "}} after {{else}}: {{end}} expected");
            }
        }

        /** A pipeline's text: commands split on top-level {@code |}, operands on spaces, with quotes and parentheses. */
        private Pipeline pipeline(String s) throws TemplateError {
            if (s.isEmpty()) {
                throw error("missing value in an action");
            }
            List<List<Operand>> commands = new ArrayList<>();
            List<Operand> current = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                } else if (c == '|') {
                    if (current.isEmpty()) {
                        throw error("missing command before |");
                    }
                    commands.add(current);
                    current = new ArrayList<>();
                    i++;
                } else if (c == '"' || c == '`') {
                    int end = i + 1;
                    StringBuilder lit = new StringBuilder();
                    while (end < s.length() && s.charAt(end) != c) {
                        if (c == '"' && s.charAt(end) == '\\' && end + 1 < s.length()) {
                            char e = s.charAt(++end);
                            lit.append(switch (e) {
                                case 'n' -> '\n';
                                case 't' -> '\t';
                                default -> e;
                            });
                        } else {
                            lit.append(s.charAt(end));
                        }
                        end++;
                    }
                    if (end >= s.length()) {
                        throw error("unterminated string");
                    }
                    current.add(new Literal(lit.toString()));
                    i = end + 1;
                } else if (c == '(') {
                    int depth = 0;
                    int end = i;
                    for (; end < s.length(); end++) {
                        if (s.charAt(end) == '(') {
                            depth++;
                        } else if (s.charAt(end) == ')' && --depth == 0) {
                            break;
                        }
                    }
                    if (end >= s.length()) {
                        throw error("unclosed parenthesis");
                    }
                    Pipeline inner = pipeline(s.substring(i + 1, end).strip());
                    i = end + 1;
                    List<String> path = List.of();
                    if (i < s.length() && s.charAt(i) == '.') {
                        int stop = i;
                        while (stop < s.length() && !Character.isWhitespace(s.charAt(stop)) && "|()".indexOf(s.charAt(stop)) < 0) {
                            stop++;
                        }
                        path = path(s.substring(i + 1, stop), s.substring(i, stop));
                        i = stop;
                    }
                    current.add(new Nested(inner, path));
                } else {
                    int end = i;
                    while (end < s.length() && !Character.isWhitespace(s.charAt(end)) && "|()".indexOf(s.charAt(end)) < 0) {
                        end++;
                    }
                    current.add(operand(s.substring(i, end)));
                    i = end;
                }
            }
            if (current.isEmpty()) {
                throw error("missing command after |");
            }
            commands.add(current);
            return new Pipeline(commands);
        }

        private Operand operand(String word) throws TemplateError {
            if (word.equals(".")) {
                return new Field(null, List.of());
            }
            if (word.startsWith(".")) {
                return new Field(null, path(word.substring(1), word));
            }
            if (word.startsWith("$")) {
                int dot = word.indexOf('.');
                String var = dot < 0 ? word : word.substring(0, dot);
                return new Field(var, dot < 0 ? List.of() : path(word.substring(dot + 1), word));
            }
            switch (word) {
                case "true":
                    return new Literal(true);
                case "false":
                    return new Literal(false);
                case "nil":
                    return new Literal(null);
                default:
                    break;
            }
            if (word.matches("-?[0-9]+(\\.[0-9]+)?")) {
                return new Literal(new BigDecimal(word));
            }
            if (word.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                return new Function(word);
            }
            throw error("bad word \"" + word + "\" in an action");
        }

        private List<String> path(String dotted, String word) throws TemplateError {
            List<String> path = List.of(dotted.split("\\.", -1));
            for (String p : path) {
                if (p.isEmpty()) {
                    throw error("bad field \"" + word + "\"");
                }
            }
            return path;
        }
    }
}
