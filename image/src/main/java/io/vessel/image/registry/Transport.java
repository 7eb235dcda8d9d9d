package io.vessel.image.registry;

import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * HTTP to registries: picks the scheme, authenticates (anonymous, Basic, or Bearer tokens from the
 * registry's token service, cached per scope), retries once after a 401, follows redirects where
 * asked, and turns error responses and network failures into {@link RegistryException}s.
 */
final class Transport implements AutoCloseable {
    /** Largest error or token body read; registries send a few hundred bytes. */
    private static final int MAX_SMALL_BODY = 1 << 20;
    private static final int MAX_REDIRECTS = 10;
    /** How long close waits for the client's threads after aborting what is in flight. */
    private static final java.time.Duration CLOSE_WAIT = java.time.Duration.ofSeconds(5);
    /** Token lifetime when the token service does not say (the distribution spec's default). */
    private static final long DEFAULT_TOKEN_SECONDS = 60;

    private final RegistryConfig config;
    private final HttpClient http;
    private final Map<String, Challenge> challenges = new ConcurrentHashMap<>();
    private final Map<String, Token> tokens = new ConcurrentHashMap<>();
    private final Map<String, Object> tokenLocks = new ConcurrentHashMap<>();

    Transport(RegistryConfig config) {
        this.config = config;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(config.timeout())
                .build();
    }

    /** What a request is for, to name in errors: registry, repository and operation. */
    record Op(String registry, String repository, String operation) {
        RegistryException fail(int status, String code, String message) {
            return new RegistryException(registry, repository, operation, status, code, message, null);
        }

        RegistryException fail(String message, Throwable cause) {
            return new RegistryException(registry, repository, operation, 0, null, message, cause);
        }
    }

    /** How the registry wants clients to authenticate, from its WWW-Authenticate header. */
    record Challenge(String scheme, Map<String, String> params) {
    }

    private record Token(String value, long expiresAtNanos) {
    }

    /** {@code http(s)://registry/v2/}: HTTP for loopback and configured insecure registries. */
    URI base(String registry) {
        return URI.create((plainHttp(registry) ? "http" : "https") + "://" + registry + "/v2/");
    }

    boolean plainHttp(String registry) {
        if (config.insecure().contains(registry)) {
            return true;
        }
        String host = registry;
        if (host.startsWith("[")) {
            host = host.substring(1, host.indexOf(']'));
        } else if (host.indexOf(':') >= 0) {
            host = host.substring(0, host.indexOf(':'));
        }
        if (host.equals("localhost") || host.endsWith(".localhost")) {
            return true;
        }
        if (host.matches("[0-9.]+") || host.indexOf(':') >= 0) {
            try {
                return InetAddress.getByName(host).isLoopbackAddress(); // a literal: no lookup
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    /**
     * Sends a request built by {@code request} (called again for the retry after a 401, so bodies must
     * be re-creatable), authorized for {@code scopes}. Statuses of 400 and above become a
     * {@link RegistryException}; others are returned with the body unread (the caller closes it).
     *
     * @param follow whether to follow redirects (blob downloads: registries redirect to storage)
     */
    HttpResponse<InputStream> send(Op op, List<String> scopes, Function<URI, HttpRequest.Builder> request, URI uri,
                                   boolean follow) throws IOException {
        HttpResponse<InputStream> response = attempt(op, scopes, request, uri, follow, false);
        if (response.statusCode() == 401) {
            Challenge challenge = parseChallenge(response);
            drain(response);
            if (challenge == null) {
                throw op.fail(401, "UNAUTHORIZED", "the registry requires authentication but sent no WWW-Authenticate "
                        + "challenge Vessel understands");
            }
            challenges.put(op.registry(), challenge);
            tokens.remove(tokenKey(op.registry(), scopes));
            response = attempt(op, scopes, request, uri, follow, true);
            if (response.statusCode() == 401) {
                RegistryException e = error(op, response);
                Optional<Credentials> creds = config.credentials().lookup(op.registry());
                throw op.fail(401, e.code() == null ? "UNAUTHORIZED" : e.code(), "access denied"
                        + creds.map(c -> " for user " + c.username()).orElse(" (no credentials for " + op.registry()
                        + " in " + config.credentials().file() + ")") + ": " + detail(e));
            }
        }
        if (response.statusCode() >= 400) {
            throw error(op, response);
        }
        return response;
    }

    private HttpResponse<InputStream> attempt(Op op, List<String> scopes, Function<URI, HttpRequest.Builder> request,
                                              URI uri, boolean follow, boolean retry) throws IOException {
        String authorization = authorization(op, scopes, retry);
        URI target = uri;
        for (int hop = 0; ; hop++) {
            HttpRequest.Builder b = request.apply(target);
            boolean sameHost = target.getAuthority().equals(uri.getAuthority());
            if (authorization != null && sameHost) {
                b.header("Authorization", authorization);
            }
            b.setHeader("User-Agent", "vessel");
            HttpResponse<InputStream> response = exchange(op, b.build());
            int status = response.statusCode();
            if (!follow || (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)) {
                return response;
            }
            Optional<String> location = response.headers().firstValue("Location");
            drain(response);
            if (location.isEmpty()) {
                throw op.fail(status, null, "redirect (" + status + ") without a Location from " + target);
            }
            if (hop >= MAX_REDIRECTS) {
                throw op.fail(status, null, "more than " + MAX_REDIRECTS + " redirects, last to " + location.get());
            }
            target = target.resolve(location.get());
        }
    }

    /** One HTTP exchange; network failures become a RegistryException saying the registry is unreachable. */
    HttpResponse<InputStream> exchange(Op op, HttpRequest request) throws IOException {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (ConnectException | HttpConnectTimeoutException e) {
            throw op.fail("cannot reach the registry at " + request.uri().getScheme() + "://"
                    + request.uri().getAuthority() + ": " + (e.getMessage() == null ? "connection refused" : e.getMessage()), e);
        } catch (HttpTimeoutException e) {
            throw op.fail("no answer from " + request.uri().getAuthority() + " within " + config.timeout().toSeconds()
                    + "s (" + request.method() + " " + request.uri().getPath() + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException(op.operation() + " interrupted");
        } catch (IOException e) {
            if (e.getCause() instanceof ConnectException || e.getCause() instanceof UnknownHostException) {
                throw op.fail("cannot reach the registry at " + request.uri().getAuthority() + ": " + e.getCause(), e);
            }
            throw e;
        }
    }

    /** The Authorization header value for these scopes, or null for anonymous. */
    private String authorization(Op op, List<String> scopes, boolean retry) throws IOException {
        Challenge c = challenges.get(op.registry());
        if (c == null) {
            return null;
        }
        if (c.scheme().equals("basic")) {
            Optional<Credentials> creds = config.credentials().lookup(op.registry());
            if (creds.isEmpty()) {
                throw op.fail(401, "UNAUTHORIZED", "authentication required and there are no credentials for "
                        + op.registry() + " in " + config.credentials().file() + " (log in first)");
            }
            return creds.get().basicHeader();
        }
        String key = tokenKey(op.registry(), scopes);
        // Parallel layer transfers want the same token at once: one fetches it, the others wait.
        synchronized (tokenLocks.computeIfAbsent(key, k -> new Object())) {
            Token t = tokens.get(key);
            if (t == null || System.nanoTime() - t.expiresAtNanos() > 0) {
                t = fetchToken(op, c, scopes);
                tokens.put(key, t);
            }
            return "Bearer " + t.value();
        }
    }

    private static String tokenKey(String registry, List<String> scopes) {
        return registry + " " + String.join(" ", scopes);
    }

    /** GETs a token from the challenge's realm for these scopes, with Basic credentials when configured. */
    private Token fetchToken(Op op, Challenge c, List<String> scopes) throws IOException {
        String realm = c.params().get("realm");
        if (realm == null || realm.isEmpty()) {
            throw op.fail(401, "UNAUTHORIZED", "the registry's Bearer challenge names no realm");
        }
        StringBuilder query = new StringBuilder();
        String service = c.params().get("service");
        if (service != null) {
            query.append("service=").append(enc(service));
        }
        List<String> wanted = new ArrayList<>(scopes);
        String challenged = c.params().get("scope");
        if (challenged != null && !wanted.contains(challenged) && wanted.isEmpty()) {
            wanted.add(challenged);
        }
        for (String s : wanted) {
            query.append(query.isEmpty() ? "" : "&").append("scope=").append(enc(s));
        }
        URI uri = URI.create(realm + (query.isEmpty() ? "" : (realm.contains("?") ? "&" : "?") + query));
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().timeout(config.timeout())
                .header("User-Agent", "vessel");
        Optional<Credentials> creds = config.credentials().lookup(op.registry());
        creds.ifPresent(value -> b.header("Authorization", value.basicHeader()));
        HttpResponse<InputStream> response = exchange(op, b.build());
        byte[] body = readSmall(response);
        if (response.statusCode() == 401 || response.statusCode() == 403) {
            throw op.fail(response.statusCode(), "UNAUTHORIZED", "the token service " + uri.getAuthority() + " refused "
                    + creds.map(cr -> "user " + cr.username() + " (wrong username or password?)")
                    .orElse("anonymous access (no credentials for " + op.registry() + " in " + config.credentials().file() + ")")
                    + " for " + String.join(" ", wanted));
        }
        if (response.statusCode() != 200) {
            throw op.fail(response.statusCode(), null, "the token service " + uri.getAuthority() + " answered "
                    + response.statusCode());
        }
        try {
            JsonNode n = JsonNode.parse("token response from " + uri.getAuthority(), new String(body, StandardCharsets.UTF_8));
            String token = n.get("token").string(null);
            if (token == null || token.isEmpty()) {
                token = n.get("access_token").string(null);
            }
            if (token == null || token.isEmpty()) {
                throw n.fail("has neither token nor access_token");
            }
            long seconds = Math.max(n.get("expires_in").longValue(DEFAULT_TOKEN_SECONDS), 10);
            // Renew a little early, so a token does not expire between check and use.
            return new Token(token, System.nanoTime() + (seconds - 5) * 1_000_000_000L);
        } catch (JsonException e) {
            throw op.fail(response.statusCode(), null, e.getMessage());
        }
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Parses {@code Bearer realm="...",service="...",scope="..."} or {@code Basic realm="..."}. */
    static Challenge parseChallenge(HttpResponse<?> response) {
        for (String header : response.headers().allValues("WWW-Authenticate")) {
            Challenge c = parseChallenge(header);
            if (c != null && (c.scheme().equals("bearer") || c.scheme().equals("basic"))) {
                return c;
            }
        }
        return null;
    }

    static Challenge parseChallenge(String header) {
        String h = header.trim();
        int space = h.indexOf(' ');
        String scheme = (space < 0 ? h : h.substring(0, space)).toLowerCase(Locale.ROOT);
        if (scheme.isEmpty()) {
            return null;
        }
        Map<String, String> params = new LinkedHashMap<>();
        int i = space < 0 ? h.length() : space + 1;
        while (i < h.length()) {
            while (i < h.length() && (h.charAt(i) == ' ' || h.charAt(i) == ',')) {
                i++;
            }
            int eq = h.indexOf('=', i);
            if (eq < 0) {
                break;
            }
            String key = h.substring(i, eq).trim().toLowerCase(Locale.ROOT);
            i = eq + 1;
            StringBuilder value = new StringBuilder();
            if (i < h.length() && h.charAt(i) == '"') {
                i++;
                while (i < h.length() && h.charAt(i) != '"') {
                    if (h.charAt(i) == '\\' && i + 1 < h.length()) {
                        i++;
                    }
                    value.append(h.charAt(i++));
                }
                i++;
            } else {
                while (i < h.length() && h.charAt(i) != ',') {
                    value.append(h.charAt(i++));
                }
            }
            params.put(key, value.toString().trim());
        }
        return new Challenge(scheme, params);
    }

    /** An error response as an exception: the first entry of {"errors":[{code,message,detail}]}. */
    RegistryException error(Op op, HttpResponse<InputStream> response) {
        int status = response.statusCode();
        byte[] body;
        try {
            body = readSmall(response);
        } catch (IOException e) {
            body = new byte[0];
        }
        String code = null;
        String message = null;
        try {
            JsonNode root = JsonNode.parse("error", new String(body, StandardCharsets.UTF_8));
            List<JsonNode> errors = root.get("errors").elements();
            if (!errors.isEmpty()) {
                JsonNode first = errors.get(0);
                code = first.get("code").string(null);
                message = first.get("message").string(null);
                Object detail = first.get("detail").value();
                if (detail != null && !(detail instanceof String s && s.isEmpty())) {
                    message = (message == null ? "" : message + ": ")
                            + (detail instanceof String s ? s : io.vessel.json.Json.write(detail));
                }
            }
        } catch (RuntimeException e) {
            // not the registry's error format (a proxy's HTML page, an empty HEAD body): status only
        }
        String what;
        if ("MANIFEST_UNKNOWN".equals(code) || "NAME_UNKNOWN".equals(code) || "BLOB_UNKNOWN".equals(code)
                || (code == null && status == 404)) {
            what = "not found" + (message != null ? ": " + message : "") + " (" + (code != null ? code : "404") + ")";
        } else {
            what = (code != null ? code : "HTTP " + status) + (message != null ? ": " + message : "");
        }
        return op.fail(status, code, what);
    }

    private static String detail(RegistryException e) {
        String m = e.getMessage();
        int colon = m.indexOf(": ");
        return colon >= 0 ? m.substring(colon + 2) : m;
    }

    static byte[] readSmall(HttpResponse<InputStream> response) throws IOException {
        try (InputStream in = response.body()) {
            byte[] b = in.readNBytes(MAX_SMALL_BODY);
            return b;
        }
    }

    static void drain(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            in.skip(MAX_SMALL_BODY);
        } catch (IOException e) {
            // the connection is dropped instead of reused; nothing to report
        }
    }

    /**
     * Ends the client at once. HttpClient.close() would wait for every exchange to finish, and one
     * left behind by a download that a failed pull interrupted never does: close hung the caller.
     */
    @Override
    public void close() {
        http.shutdownNow();
        try {
            http.awaitTermination(CLOSE_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
