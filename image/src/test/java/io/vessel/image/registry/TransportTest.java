package io.vessel.image.registry;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Scheme choice, challenge parsing and the credentials file, without a registry. */
class TransportTest {
    @TempDir
    Path tmp;

    @Test
    void loopbackAndInsecureRegistriesUsePlainHttp() {
        CredentialStore none = new CredentialStore(tmp.resolve("config.json"));
        try (Transport t = new Transport(RegistryConfig.of(none).withInsecure(Set.of("registry.lan:5000")))) {
            assertEquals("http://127.0.0.1:5000/v2/", t.base("127.0.0.1:5000").toString());
            assertEquals("http://127.1.2.3/v2/", t.base("127.1.2.3").toString());
            assertEquals("http://localhost:5000/v2/", t.base("localhost:5000").toString());
            assertEquals("http://[::1]:5000/v2/", t.base("[::1]:5000").toString());
            assertEquals("http://registry.lan:5000/v2/", t.base("registry.lan:5000").toString());
            assertEquals("https://docker.io/v2/", t.base("docker.io").toString());
            assertEquals("https://10.0.0.1:5000/v2/", t.base("10.0.0.1:5000").toString());
        }
    }

    @Test
    void parsesChallenges() {
        Transport.Challenge c = Transport.parseChallenge(
                "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                        + "scope=\"repository:library/busybox:pull,push\"");
        assertEquals("bearer", c.scheme());
        assertEquals(Map.of("realm", "https://auth.docker.io/token", "service", "registry.docker.io",
                "scope", "repository:library/busybox:pull,push"), c.params());
        Transport.Challenge b = Transport.parseChallenge("Basic realm=\"Registry Realm\"");
        assertEquals("basic", b.scheme());
        assertEquals("Registry Realm", b.params().get("realm"));
    }

    @Test
    void credentialsFile() throws Exception {
        Path file = tmp.resolve("config.json");
        Files.writeString(file, "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dTpw\"},"
                + "\"reg.example:5000\":{\"username\":\"x\",\"password\":\"y\"}},\"credsStore\":\"desktop\"}");
        CredentialStore store = new CredentialStore(file);
        assertEquals(Optional.of(new Credentials("u", "p")), store.lookup("docker.io"));
        assertEquals(Optional.of(new Credentials("x", "y")), store.lookup("reg.example:5000"));
        assertEquals(Optional.empty(), store.lookup("other.example"));
        store.save("docker.io", new Credentials("v", "q"));
        String text = Files.readString(file);
        assertTrue(text.contains("https://index.docker.io/v1/") && text.contains("credsStore"), text);
        assertEquals(Optional.of(new Credentials("v", "q")), store.lookup("index.docker.io"));
        assertTrue(store.remove("docker.io"));
        assertEquals(Optional.empty(), store.lookup("docker.io"));
        assertFalse(new Credentials("a", "secret").toString().contains("secret"));

        Files.writeString(file, "{\"auths\":{\"r\":{\"auth\":\"!!!\"}}}");
        var e = assertThrows(java.io.IOException.class, () -> store.lookup("r"));
        assertEquals(file + ": auths.r.auth is not base64", e.getMessage());
        Files.writeString(file, "{\"auths\":[]}");
        e = assertThrows(java.io.IOException.class, () -> store.lookup("r"));
        assertTrue(e.getMessage().contains("auths must be an object"), e.getMessage());
    }
}
