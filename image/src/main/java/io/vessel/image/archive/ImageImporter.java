package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.Digester;
import io.vessel.image.DigestingInputStream;
import io.vessel.image.layer.LayerException;
import io.vessel.image.layer.LayerWriter;
import io.vessel.image.layer.TarEntry;
import io.vessel.image.layer.TarReader;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.zip.GZIPInputStream;

/**
 * {@code vessel import}: a root file system, as a directory or a tarball, becomes a one-layer image —
 * the layer blob, a config (rootfs.diff_ids, a "vessel import" history entry, linux and this machine's
 * architecture, the {@link ImportOptions}) and an OCI manifest, all in the {@link BlobStore}.
 *
 * <p>A tarball (plain, gzip or zstd, told by its first bytes) is stored as it is, in one pass: while the
 * store writes it, every member is read with {@link TarReader} and refused if its name or hard-link target
 * is absolute or has {@code ..}; the diff_id is hashed from the uncompressed stream on the way. A refused
 * or malformed tarball leaves nothing in the store.
 */
public final class ImageImporter {
    private static final byte[] GZIP_MAGIC = {0x1f, (byte) 0x8b};
    private static final byte[] ZSTD_MAGIC = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
    /** The created_by of the image's one history entry. */
    static final String CREATED_BY = "vessel import";

    private ImageImporter() {
    }

    /** Imports the tarball read from {@code in} (not closed); returns the image's manifest descriptor. */
    public static Descriptor importTarball(InputStream in, BlobStore store, ImportOptions options) throws IOException {
        BufferedInputStream raw = new BufferedInputStream(in, 64 * 1024);
        raw.mark(ZSTD_MAGIC.length);
        byte[] head = raw.readNBytes(ZSTD_MAGIC.length);
        raw.reset();
        String mediaType = startsWith(head, GZIP_MAGIC) ? MediaType.OCI_LAYER_GZIP
                : startsWith(head, ZSTD_MAGIC) ? MediaType.OCI_LAYER_ZSTD : MediaType.OCI_LAYER;

        Pipe pipe = new Pipe();
        FutureTask<Digest> storing = new FutureTask<>(() -> {
            try (InputStream source = pipe.source()) {
                return store.put(source, null, -1);
            }
        });
        Thread storer = Thread.ofPlatform().name("vessel-import-store").daemon().start(storing);
        Digest diffId;
        long blobSize;
        try {
            OutputStream sink = pipe.sink();
            Tee tee = new Tee(raw, sink);
            Digester digester = Digester.sha256();
            InputStream tar = new DigestingInputStream(decompressed(tee, mediaType), digester);
            validate(new TarReader(tar));
            byte[] rest = new byte[8192];
            while (tee.read(rest, 0, rest.length) >= 0) {
                // bytes after the end of the tar (or of the compressed stream) are part of the blob too
            }
            blobSize = tee.count;
            diffId = digester.digest();
            sink.close();
        } catch (IOException | RuntimeException e) {
            pipe.fail(e instanceof IOException io ? io : new IOException(e.toString(), e));
            awaitQuietly(storing, storer);
            throw e;
        }
        Digest layer = await(storing, storer);
        Descriptor layerDescriptor = Descriptor.of(mediaType, layer, blobSize);
        return ImageBlobs.put(store, config(options, diffId), layerDescriptor);
    }

    /**
     * Imports the directory {@code root} (which must not change meanwhile) as a gzip layer with every
     * file's own times, ownership, modes, xattrs and hard links; returns the image's manifest descriptor.
     */
    public static Descriptor importDirectory(Path root, BlobStore store, ImportOptions options) throws IOException {
        LayerWriter.Stored layer = LayerWriter.store(root, store, LayerWriter.Options.defaults());
        return ImageBlobs.put(store, config(options, layer.diffId()), layer.descriptor());
    }

    /** Reads every member, refusing names and hard-link targets that would leave the root. */
    private static void validate(TarReader reader) throws IOException {
        for (TarEntry e; (e = reader.next()) != null; ) {
            check(e, e.name(), "name");
            if (e.type() == TarEntry.Type.HARDLINK) {
                check(e, e.linkName(), "hard link target");
            }
            reader.content().transferTo(OutputStream.nullOutputStream());
        }
        reader.drain();
    }

    private static void check(TarEntry e, String path, String what) throws ArchiveException {
        String problem = null;
        if (path.startsWith("/")) {
            problem = "absolute " + what;
        } else if (path.indexOf('\0') >= 0) {
            problem = "NUL in " + what;
        } else {
            for (String c : path.split("/")) {
                if (c.equals("..")) {
                    problem = "\"..\" in " + what;
                    break;
                }
            }
        }
        if (problem != null) {
            throw new ArchiveException("import: tar member " + e.index() + " \"" + e.name() + "\" at offset " + e.offset()
                    + " refused: " + problem + (what.equals("name") ? "" : " \"" + path + "\"")
                    + " would leave the root file system");
        }
    }

    static ImageConfig config(ImportOptions options, Digest diffId) {
        Instant when = options.created() != null ? options.created() : Instant.now().truncatedTo(ChronoUnit.SECONDS);
        String created = when.toString();
        ImageConfig.Config run = new ImageConfig.Config(options.user(), options.env(), options.entrypoint(),
                options.cmd(), options.workingDir(), Set.of(), Set.of(), Map.of(), null, List.of(), null,
                List.of());
        return new ImageConfig(created, null, BaseImages.architecture(), "linux", null, run,
                new ImageConfig.RootFs(ImageConfig.ROOTFS_LAYERS, List.of(diffId)),
                List.of(new ImageConfig.History(created, CREATED_BY, null, null, false)));
    }

    private static InputStream decompressed(InputStream in, String mediaType) throws IOException {
        if (MediaType.OCI_LAYER_GZIP.equals(mediaType)) {
            return new GZIPInputStream(in, 64 * 1024);
        }
        if (MediaType.OCI_LAYER_ZSTD.equals(mediaType)) {
            return new io.airlift.compress.zstd.ZstdInputStream(in);
        }
        return in;
    }

    private static boolean startsWith(byte[] data, byte[] prefix) {
        return data.length >= prefix.length && java.util.Arrays.equals(data, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static Digest await(FutureTask<Digest> task, Thread thread) throws IOException {
        try {
            Digest d = task.get();
            thread.join();
            return d;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("import: interrupted while storing the layer", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("import: storing the layer failed: " + e.getCause(), e.getCause());
        }
    }

    private static void awaitQuietly(FutureTask<Digest> task, Thread thread) {
        try {
            task.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            // expected: the pipe was failed on purpose; the store removed its temp file
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Copies every byte read to {@code sink} (the store's pipe) and counts them. */
    private static final class Tee extends FilterInputStream {
        private final OutputStream sink;
        private long count;

        Tee(InputStream in, OutputStream sink) {
            super(in);
            this.sink = sink;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                sink.write(b, off, n);
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            byte[] buf = new byte[(int) Math.min(Math.max(n, 1), 8192)];
            int r = read(buf, 0, buf.length);
            return Math.max(r, 0);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }
}
