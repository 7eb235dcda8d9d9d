package io.vessel.image.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vessel.image.Reference;
import io.vessel.image.oci.Platform;
import io.vessel.image.registry.TestImages.TestImage;
import io.vessel.image.store.BlobStore;
import io.vessel.json.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Bearer token auth through a token service of the test's own, and htpasswd Basic auth. */
class RegistryAuthTest {
    private static final String SERVICE = "vessel-test-registry";
    private static final String ISSUER = "vessel-test-issuer";

    @TempDir
    Path tmp;

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
    }

    private static String b64url(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** A token service: JWTs signed RS256 with x5c, granting what is asked if the Basic credentials match. */
    private static final class TokenService implements AutoCloseable {
        final HttpServer server;
        final List<String> scopes = new CopyOnWriteArrayList<>();
        final PrivateKey key;
        final String certDer;

        TokenService(Path keyPem, Path certPem, String user, String password) throws Exception {
            String pem = Files.readString(keyPem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(certPem)));
            certDer = Base64.getEncoder().encodeToString(cert.getEncoded());
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/token", ex -> handle(ex, user, password));
            server.start();
        }

        String realm() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
        }

        private void handle(HttpExchange ex, String user, String password) throws IOException {
            try (ex) {
                String auth = ex.getRequestHeaders().getFirst("Authorization");
                String expected = "Basic " + Base64.getEncoder().encodeToString(
                        (user + ":" + password).getBytes(StandardCharsets.UTF_8));
                if (!expected.equals(auth)) {
                    ex.sendResponseHeaders(401, -1);
                    return;
                }
                List<Object> access = new ArrayList<>();
                String service = null;
                for (String kv : ex.getRequestURI().getRawQuery().split("&")) {
                    String k = kv.substring(0, kv.indexOf('='));
                    String v = URLDecoder.decode(kv.substring(kv.indexOf('=') + 1), StandardCharsets.UTF_8);
                    if (k.equals("service")) {
                        service = v;
                    } else if (k.equals("scope")) {
                        scopes.add(v);
                        String[] parts = v.split(":");
                        access.add(Map.of("type", parts[0], "name", parts[1], "actions", List.of(parts[2].split(","))));
                    }
                }
                long now = System.currentTimeMillis() / 1000;
                Map<String, Object> claims = new LinkedHashMap<>();
                claims.put("iss", ISSUER);
                claims.put("sub", user);
                claims.put("aud", service);
                claims.put("exp", now + 300);
                claims.put("nbf", now - 10);
                claims.put("iat", now);
                claims.put("jti", UUID.randomUUID().toString());
                claims.put("access", access);
                Map<String, Object> header = Map.of("typ", "JWT", "alg", "RS256", "x5c", List.of(certDer));
                String signingInput = b64url(Json.write(header).getBytes(StandardCharsets.UTF_8)) + "."
                        + b64url(Json.write(claims).getBytes(StandardCharsets.UTF_8));
                Signature s = Signature.getInstance("SHA256withRSA");
                s.initSign(key);
                s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
                String jwt = signingInput + "." + b64url(s.sign());
                byte[] body = Json.write(Map.of("access_token", jwt, "expires_in", 300))
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            } catch (java.security.GeneralSecurityException e) {
                throw new IOException(e);
            }
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    @Test
    void bearerTokenFromTokenService() throws Exception {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (scripts/install-deps.sh --test)");
        Path key = tmp.resolve("key.pem");
        Path cert = tmp.resolve("cert.pem");
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out",
                cert.toString(), "-days", "1", "-subj", "/CN=vessel-test-token-signer");
        try (TokenService tokens = new TokenService(key, cert, "alice", "s3cret");
             LocalRegistry registry = LocalRegistry.start("  token:\n    realm: " + tokens.realm() + "\n    service: "
                     + SERVICE + "\n    issuer: " + ISSUER + "\n    rootcertbundle: " + cert + "\n")) {
            CredentialStore creds = new CredentialStore(tmp.resolve("docker/config.json"));
            BlobStore src = BlobStore.open(tmp.resolve("src"));
            TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 11, 5_000, 9_000);
            Reference ref = Reference.parse(registry.host() + "/team/app:1");

            try (RegistryClient anonymous = new RegistryClient(RegistryConfig.of(creds))) {
                RegistryException e = assertThrows(RegistryException.class,
                        () -> anonymous.push(ref, img.manifest(), src, ProgressListener.NONE, Map.of()));
                assertTrue(e.unauthorized(), e.getMessage());
                assertTrue(e.getMessage().contains("anonymous access"), e.getMessage());
            }

            creds.save(registry.host(), new Credentials("alice", "s3cret"));
            try (RegistryClient c = new RegistryClient(RegistryConfig.of(creds))) {
                c.push(ref, img.manifest(), src, ProgressListener.NONE, Map.of());
                BlobStore dst = BlobStore.open(tmp.resolve("dst"));
                PullResult r = c.pull(ref, Platform.LINUX_AMD64, dst, ProgressListener.NONE);
                assertEquals(img.manifest().digest(), r.manifest().digest());
                for (var d : img.blobs()) {
                    assertTrue(dst.exists(d));
                }
            }
            assertTrue(tokens.scopes.contains("repository:team/app:pull,push"), tokens.scopes.toString());
            assertTrue(tokens.scopes.contains("repository:team/app:pull"), tokens.scopes.toString());
            // Tokens are cached per scope: one request for each scope, not one per blob.
            assertEquals(tokens.scopes.stream().distinct().count(), tokens.scopes.size(), tokens.scopes.toString());
            assertTrue(registry.requests("PUT", "team/app/manifests/1", 201) == 1, registry.log());

            creds.save(registry.host(), new Credentials("alice", "wrong"));
            try (RegistryClient c = new RegistryClient(RegistryConfig.of(creds))) {
                RegistryException e = assertThrows(RegistryException.class,
                        () -> c.pull(ref, Platform.LINUX_AMD64, BlobStore.open(tmp.resolve("other")), ProgressListener.NONE));
                assertTrue(e.getMessage().contains("refused user alice (wrong username or password?)"), e.getMessage());
                assertFalse(e.getMessage().contains("wrong\""), "the password must not be printed");
            }
        }
    }

    @Test
    void basicAuthWithHtpasswd() throws Exception {
        assumeTrue(LocalRegistry.available(), "docker-registry is not installed (scripts/install-deps.sh --test)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/htpasswd")), "htpasswd is not installed (apache2-utils)");
        Path htpasswd = tmp.resolve("htpasswd");
        Process p = new ProcessBuilder("htpasswd", "-Bbn", "bob", "hunter2").redirectErrorStream(false).start();
        Files.write(htpasswd, p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor());
        try (LocalRegistry registry = LocalRegistry.start("  htpasswd:\n    realm: vessel-test\n    path: " + htpasswd + "\n")) {
            Path configFile = tmp.resolve("docker/config.json");
            CredentialStore creds = new CredentialStore(configFile);
            BlobStore src = BlobStore.open(tmp.resolve("src"));
            TestImage img = TestImages.image(src, Platform.LINUX_AMD64, 12, 4_000);
            Reference ref = Reference.parse(registry.host() + "/private/app:1");

            try (RegistryClient c = new RegistryClient(RegistryConfig.of(creds))) {
                RegistryException e = assertThrows(RegistryException.class,
                        () -> c.push(ref, img.manifest(), src, ProgressListener.NONE, Map.of()));
                assertTrue(e.getMessage().contains("no credentials for " + registry.host()), e.getMessage());
            }
            Files.createDirectories(configFile.getParent());
            // The Docker-style file, written by hand as docker login does (auth = base64(user:pass)).
            Files.writeString(configFile, "{\"auths\":{\"http://" + registry.host() + "\":{\"auth\":\""
                    + Base64.getEncoder().encodeToString("bob:hunter2".getBytes(StandardCharsets.UTF_8))
                    + "\"}},\"psFormat\":\"table\"}");
            try (RegistryClient c = new RegistryClient(RegistryConfig.of(creds))) {
                c.push(ref, img.manifest(), src, ProgressListener.NONE, Map.of());
                BlobStore dst = BlobStore.open(tmp.resolve("dst"));
                c.pull(ref, Platform.LINUX_AMD64, dst, ProgressListener.NONE);
                assertTrue(dst.exists(img.manifest().digest()));
            }
            creds.save(registry.host(), new Credentials("bob", "not-hunter2"));
            String saved = Files.readString(configFile);
            assertTrue(saved.contains("psFormat"), "other fields kept: " + saved);
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(configFile)));
            assertEquals(new Credentials("bob", "not-hunter2"), creds.lookup(registry.host()).orElseThrow());
            try (RegistryClient c = new RegistryClient(RegistryConfig.of(creds))) {
                RegistryException e = assertThrows(RegistryException.class,
                        () -> c.pull(ref, Platform.LINUX_AMD64, BlobStore.open(tmp.resolve("x")), ProgressListener.NONE));
                assertTrue(e.unauthorized());
                assertTrue(e.getMessage().contains("access denied for user bob"), e.getMessage());
                assertFalse(e.getMessage().contains("not-hunter2"), "the password must not be printed");
            }
        }
    }
}
