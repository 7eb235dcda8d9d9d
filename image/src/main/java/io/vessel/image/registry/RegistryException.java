package io.vessel.image.registry;

import java.io.IOException;

/**
 * A registry refused or failed an operation. The message names the registry, the repository, the
 * operation and, when the registry sent one, its error code ({@code MANIFEST_UNKNOWN}, ...), so a
 * user can tell a typo from a permission problem from a network problem.
 */
public class RegistryException extends IOException {
    private final String registry;
    private final String repository;
    private final String operation;
    private final int status;
    private final String code;

    /**
     * @param status the HTTP status, or 0 when there was no response (unreachable)
     * @param code   the registry's error code, or null
     */
    public RegistryException(String registry, String repository, String operation, int status, String code,
                             String message, Throwable cause) {
        super(operation + " " + registry + (repository == null ? "" : "/" + repository) + ": " + message, cause);
        this.registry = registry;
        this.repository = repository;
        this.operation = operation;
        this.status = status;
        this.code = code;
    }

    public String registry() {
        return registry;
    }

    /** The repository path inside the registry, or null for registry-wide operations (login). */
    public String repository() {
        return repository;
    }

    public String operation() {
        return operation;
    }

    /** The HTTP status, or 0 when the registry could not be reached. */
    public int status() {
        return status;
    }

    /** The first error code of the registry's error body, or null. */
    public String code() {
        return code;
    }

    /** Whether the registry said the repository, manifest or blob does not exist. */
    public boolean notFound() {
        return status == 404 || "MANIFEST_UNKNOWN".equals(code) || "NAME_UNKNOWN".equals(code)
                || "BLOB_UNKNOWN".equals(code);
    }

    /** Whether authentication failed or was missing. */
    public boolean unauthorized() {
        return status == 401 || "UNAUTHORIZED".equals(code);
    }
}
