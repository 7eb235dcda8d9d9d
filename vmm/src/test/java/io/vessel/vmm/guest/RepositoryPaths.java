package io.vessel.vmm.guest;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the repository and its built guest assets are, seen from a test running in the vmm module. */
final class RepositoryPaths {
    private RepositoryPaths() {
    }

    /** The repository root: {@code -Dvessel.root}, else the nearest parent holding scripts/guest-assets.sh. */
    static Path root() {
        String root = System.getProperty("vessel.root");
        if (root != null) {
            return Path.of(root);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("scripts/guest-assets.sh"))) {
                return p;
            }
        }
        throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
    }

    /** {@code -Dvessel.guest}, else build/guest in the repository. */
    static Path guestAssets() {
        String guest = System.getProperty("vessel.guest");
        return guest != null ? Path.of(guest) : root().resolve("build/guest");
    }
}
