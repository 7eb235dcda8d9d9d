package io.vessel.cli;

import io.vessel.image.Reference;
import io.vessel.image.registry.CredentialStore;
import io.vessel.image.registry.Credentials;
import io.vessel.json.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Request pieces the verbs share: registry credentials as X-Registry-Auth, filters as the API's JSON. */
final class Api {
    private Api() {
    }

    /**
     * The X-Registry-Auth header for the registry of {@code image}: the credentials that
     * {@code vessel login} stored (the docker CLI's config.json), base64url JSON, or {@code {}}.
     */
    static Map<String, String> registryAuth(CredentialStore store, String image) throws IOException {
        String domain = Reference.parse(image).domain();
        return registryAuthFor(store, domain);
    }

    static Map<String, String> registryAuthFor(CredentialStore store, String registry) throws IOException {
        Optional<Credentials> c = store.lookup(registry);
        Map<String, Object> auth = new LinkedHashMap<>();
        if (c.isPresent()) {
            auth.put("username", c.get().username());
            auth.put("password", c.get().password());
            auth.put("serveraddress", registry);
        }
        return Map.of("X-Registry-Auth",
                Base64.getUrlEncoder().encodeToString(Json.write(auth).getBytes(StandardCharsets.UTF_8)));
    }

    /** {@code key=value} pairs as the API's {@code filters} JSON ({"key": ["value", ...]}); null when none. */
    static String filters(List<String> given) throws UsageError {
        if (given.isEmpty()) {
            return null;
        }
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (String f : given) {
            int eq = f.indexOf('=');
            if (eq <= 0) {
                throw new UsageError("bad format of filter \"" + f + "\" (expected name=value)");
            }
            m.computeIfAbsent(f.substring(0, eq), k -> new java.util.ArrayList<>()).add(f.substring(eq + 1));
        }
        return Json.write(m);
    }
}
