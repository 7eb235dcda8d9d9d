package io.vessel.image.registry;

import java.time.Duration;
import java.util.Set;

/**
 * How a {@link RegistryClient} talks to registries.
 *
 * @param credentials   where user names and passwords come from
 * @param insecure      registries (host[:port]) reached over plain HTTP although not on loopback;
 *                      loopback registries (127.0.0.0/8, ::1, localhost) always are, as with Docker
 * @param parallelism   how many layers move at once (Docker's default is 3)
 * @param chunkSize     blobs larger than this are uploaded in PATCH chunks of this size; smaller
 *                      ones in one PUT
 * @param retries       how many times a blob download continues after a network error
 * @param timeout       connect timeout, and the timeout of every request whose body is small
 *                      (manifests, tokens, upload steps); blob transfers have none
 */
public record RegistryConfig(CredentialStore credentials, Set<String> insecure, int parallelism, long chunkSize,
                             int retries, Duration timeout) {
    public static final int DEFAULT_PARALLELISM = 3;
    public static final long DEFAULT_CHUNK_SIZE = 16L << 20;
    public static final int DEFAULT_RETRIES = 3;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    public RegistryConfig {
        if (credentials == null) {
            throw new IllegalArgumentException("a registry configuration needs a credential store");
        }
        insecure = Set.copyOf(insecure);
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be >= 1, not " + parallelism);
        }
        if (chunkSize < 1) {
            throw new IllegalArgumentException("chunkSize must be >= 1, not " + chunkSize);
        }
        if (retries < 0) {
            throw new IllegalArgumentException("retries must be >= 0, not " + retries);
        }
    }

    /** Docker's defaults with the credentials of {@code ~/.docker/config.json}. */
    public static RegistryConfig defaults() {
        return of(CredentialStore.defaultStore());
    }

    /** The defaults with the given credential store. */
    public static RegistryConfig of(CredentialStore credentials) {
        return new RegistryConfig(credentials, Set.of(), DEFAULT_PARALLELISM, DEFAULT_CHUNK_SIZE, DEFAULT_RETRIES,
                DEFAULT_TIMEOUT);
    }

    public RegistryConfig withParallelism(int n) {
        return new RegistryConfig(credentials, insecure, n, chunkSize, retries, timeout);
    }

    public RegistryConfig withChunkSize(long bytes) {
        return new RegistryConfig(credentials, insecure, parallelism, bytes, retries, timeout);
    }

    public RegistryConfig withInsecure(Set<String> registries) {
        return new RegistryConfig(credentials, registries, parallelism, chunkSize, retries, timeout);
    }
}
