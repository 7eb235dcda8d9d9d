package io.vessel.image.registry;

import io.vessel.image.Reference;
import io.vessel.image.oci.Platform;
import io.vessel.image.store.BlobStore;

import java.nio.file.Path;

/**
 * A pull in a process of its own, for {@link ResumeTest} to kill: {@code REFERENCE STORE CONFIG SLEEP_MS}.
 * Its listener sleeps on every DOWNLOADING event, so that a loopback download takes long enough
 * to be killed halfway.
 */
public final class PullChild {
    private PullChild() {
    }

    public static void main(String[] args) throws Exception {
        long sleep = Long.parseLong(args[3]);
        try (RegistryClient c = new RegistryClient(RegistryConfig.of(new CredentialStore(Path.of(args[2]))))) {
            c.pull(Reference.parse(args[0]), Platform.LINUX_AMD64, BlobStore.open(Path.of(args[1])), e -> {
                if (e.state() == ProgressListener.State.DOWNLOADING) {
                    try {
                        Thread.sleep(sleep);
                    } catch (InterruptedException ex) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
        }
        System.out.println("pulled");
    }
}
