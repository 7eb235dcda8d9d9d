package io.vessel.image.archive;

import java.io.IOException;

/**
 * An image archive or layout that cannot be imported: malformed, incomplete, or hostile (paths that
 * leave the archive, links out of it, content that does not match its digest). The message names the
 * archive member or layout file and what is wrong with it. Nothing is tagged when this is thrown;
 * blobs already stored were verified against their digests and may stay.
 */
public class ArchiveException extends IOException {
    public ArchiveException(String message) {
        super(message);
    }

    public ArchiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
