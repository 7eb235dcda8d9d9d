package io.vessel.image.registry;

/**
 * A user name and password (or token) for one registry. {@link #toString} hides the secret, so a
 * record printed in a log or an error message does not leak it.
 */
public record Credentials(String username, String password) {
    public Credentials {
        if (username == null || username.isEmpty()) {
            throw new IllegalArgumentException("credentials need a username");
        }
        if (password == null) {
            throw new IllegalArgumentException("credentials for " + username + " need a password");
        }
    }

    /** The value of an HTTP Basic Authorization header. */
    String basicHeader() {
        return "Basic " + java.util.Base64.getEncoder().encodeToString(
                (username + ":" + password).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "Credentials[username=" + username + ", password=***]";
    }
}
