package io.vessel.runtime.it;

import org.junit.jupiter.api.Assumptions;

/** Integration tests need root: they make namespaces, cgroups and mounts. */
final class Root {
    private Root() {
    }

    static void assume() {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root (namespaces, cgroups, mounts); running as " + System.getProperty("user.name"));
    }
}
