package io.vessel.engine.api.http;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Routes by method and path template. {@code {name}} matches one path segment; {@code {name*}}
 * matches one or more, for values with slashes such as image references
 * ({@code /images/{name*}/json} matches {@code /images/127.0.0.1:5000/tools/busybox:1/json}).
 * A path that matches under another method only is a 405; no match at all is a 404.
 */
public final class Router implements Handler {
    private record Route(String method, String template, Pattern pattern, List<String> names, Handler handler) {
    }

    private static final Pattern PARAM = Pattern.compile("\\{([A-Za-z][A-Za-z0-9]*)(\\*?)}");

    private final List<Route> routes = new ArrayList<>();

    /** Adds a route; routes are tried in the order added, so list a specific template before a greedy one. */
    public Router add(String method, String template, Handler handler) {
        if (!template.startsWith("/")) {
            throw new IllegalArgumentException("a route template must start with '/': " + template);
        }
        StringBuilder regex = new StringBuilder("^");
        List<String> names = new ArrayList<>();
        Matcher m = PARAM.matcher(template);
        int last = 0;
        while (m.find()) {
            regex.append(Pattern.quote(template.substring(last, m.start())));
            regex.append(m.group(2).isEmpty() ? "([^/]+)" : "(.+)");
            names.add(m.group(1));
            last = m.end();
        }
        regex.append(Pattern.quote(template.substring(last))).append("/?$");
        routes.add(new Route(method, template, Pattern.compile(regex.toString(), Pattern.DOTALL), names, handler));
        return this;
    }

    public Router get(String template, Handler h) {
        return add("GET", template, h);
    }

    public Router post(String template, Handler h) {
        return add("POST", template, h);
    }

    public Router delete(String template, Handler h) {
        return add("DELETE", template, h);
    }

    public Router put(String template, Handler h) {
        return add("PUT", template, h);
    }

    public Router head(String template, Handler h) {
        return add("HEAD", template, h);
    }

    @Override
    public void handle(HttpRequest request, HttpExchange exchange) throws Exception {
        route(request.path(), request, exchange);
    }

    /** Routes {@code path} (which may differ from the request's, e.g. without a version prefix). */
    public void route(String path, HttpRequest request, HttpExchange exchange) throws Exception {
        Set<String> allowed = new LinkedHashSet<>();
        for (Route r : routes) {
            Matcher m = r.pattern().matcher(path);
            if (!m.matches()) {
                continue;
            }
            if (!r.method().equals(request.method())) {
                allowed.add(r.method());
                continue;
            }
            Map<String, String> params = new LinkedHashMap<>();
            for (int i = 0; i < r.names().size(); i++) {
                params.put(r.names().get(i), m.group(i + 1));
            }
            request.params(params);
            r.handler().handle(request, exchange);
            return;
        }
        if (!allowed.isEmpty()) {
            exchange.header("Allow", String.join(", ", allowed));
            throw new ApiException(Status.METHOD_NOT_ALLOWED, request.method() + " is not allowed on " + path
                    + "; allowed: " + String.join(", ", allowed));
        }
        throw ApiException.notFound("page not found: " + request.method() + " " + path);
    }
}
