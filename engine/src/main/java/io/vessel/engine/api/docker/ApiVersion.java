package io.vessel.engine.api.docker;

import io.vessel.engine.api.http.ApiException;

/**
 * A Docker Engine API version, {@code 1.NN}, as it appears in a path prefix ({@code /v1.47/...})
 * and the {@code API-Version} header. Compared numerically: 1.9 is older than 1.41.
 */
public record ApiVersion(int major, int minor) implements Comparable<ApiVersion> {
    /** The newest version served: the docker CLI v28's (28.2 speaks 1.50). */
    public static final ApiVersion MAX = new ApiVersion(1, 50);
    /** The oldest version served, as the issue asks (docker 20.10 speaks 1.41). */
    public static final ApiVersion MIN = new ApiVersion(1, 41);

    public static ApiVersion parse(String text) {
        int dot = text.indexOf('.');
        try {
            if (dot > 0 && text.indexOf('.', dot + 1) < 0) {
                return new ApiVersion(Integer.parseInt(text.substring(0, dot)), Integer.parseInt(text.substring(dot + 1)));
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw ApiException.badRequest("malformed API version \"" + text + "\": expected MAJOR.MINOR such as " + MAX);
    }

    /** Refuses a version outside [MIN, MAX] with the docker daemon's own words. */
    public ApiVersion check() {
        if (compareTo(MIN) < 0) {
            throw ApiException.badRequest("client version " + this + " is too old. Minimum supported API version is "
                    + MIN + ", please upgrade your client to a newer version");
        }
        if (compareTo(MAX) > 0) {
            throw ApiException.badRequest("client version " + this + " is too new. Maximum supported API version is " + MAX);
        }
        return this;
    }

    public boolean before(int maj, int min) {
        return compareTo(new ApiVersion(maj, min)) < 0;
    }

    @Override
    public int compareTo(ApiVersion o) {
        return major != o.major ? Integer.compare(major, o.major) : Integer.compare(minor, o.minor);
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}
