package io.vessel.image.archive;

import io.vessel.image.oci.Descriptor;

import java.io.IOException;

/** Where the blobs of an archive or layout come from while its images are resolved into a store. */
interface BlobSource {
    /**
     * Makes sure the blob of {@code d} is in the store, verified against its digest and size.
     *
     * @return false if the source does not have it (and the store does not either)
     * @throws ArchiveException if the source has it but it is wrong (size, digest, not a regular file)
     */
    boolean fetch(Descriptor d) throws IOException;

    /** What to call the source in errors: "OCI layout /x", "docker archive". */
    String describe();
}
