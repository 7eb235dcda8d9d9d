package io.vessel.image.archive;

import io.vessel.image.Digest;
import io.vessel.image.oci.Descriptor;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.oci.MediaType;
import io.vessel.image.store.BlobStore;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

/**
 * Images Vessel has without a registry. {@link #busybox} makes one from the host's static busybox
 * (Debian's busybox-static), written as tar entries in memory: no root, no temp directory, and
 * reproducible — fixed times, owners and order, and a gzip stream with a fixed header — so the same
 * busybox binary always gives the same image ID (config digest) and, with the same JDK's deflater,
 * the same manifest digest.
 */
public final class BaseImages {
    /** Debian's busybox-static installs here. */
    public static final Path BUSYBOX = Path.of("/bin/busybox");
    /** The name the built-in image goes by. */
    public static final String BUSYBOX_NAME = "docker.io/library/busybox:latest";
    /** The creation time of built-in images and the mtime of their files: fixed, for reproducibility. */
    static final String CREATED = "2024-01-01T00:00:00Z";
    static final long MTIME = 1_704_067_200L;
    static final String PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    /** How long {@code busybox --list} may take. */
    private static final long LIST_TIMEOUT_SECONDS = 30;

    private BaseImages() {
    }

    /** {@link #busybox(BlobStore, Path)} from {@link #BUSYBOX}. */
    public static Descriptor busybox(BlobStore store) throws IOException {
        return busybox(store, BUSYBOX);
    }

    /**
     * Stores the busybox image made from {@code binary} (a static busybox) and returns its manifest's
     * descriptor: {@code /bin/busybox}, a symlink per applet in {@code /bin}, {@code /etc/passwd} and
     * {@code /etc/group} (root, nobody), {@code /tmp} (1777), {@code /root}, {@code /home}, {@code /var},
     * empty {@code /proc}, {@code /sys} and {@code /dev}; Cmd {@code ["sh"]} and the usual PATH.
     */
    public static Descriptor busybox(BlobStore store, Path binary) throws IOException {
        if (!Files.isRegularFile(binary)) {
            throw new IOException(binary + " is missing: the built-in busybox image needs Debian's busybox-static"
                    + " (apt-get install busybox-static)");
        }
        byte[] busybox = Files.readAllBytes(binary);
        List<String> applets = applets(binary);
        byte[] tar = busyboxTar(busybox, applets);
        Digest diffId = Digest.of(tar);
        byte[] layer = gzip(tar);
        Digest layerDigest = store.put(new ByteArrayInputStream(layer), null, layer.length);

        ImageConfig.Config run = new ImageConfig.Config(null, List.of(PATH_ENV), List.of(), List.of("sh"), null,
                Set.of(), Set.of(), Map.of(), null, List.of(), null, List.of());
        ImageConfig config = new ImageConfig(CREATED, null, architecture(), "linux", null, run,
                new ImageConfig.RootFs(ImageConfig.ROOTFS_LAYERS, List.of(diffId)),
                List.of(new ImageConfig.History(CREATED, "vessel: busybox-static " + Digest.of(busybox)
                        + " with " + applets.size() + " applet links", null, null, false)));
        return ImageBlobs.put(store, config, Descriptor.of(MediaType.OCI_LAYER_GZIP, layerDigest, layer.length));
    }

    /** The applet names {@code busybox --list} prints, sorted, without busybox itself. */
    static List<String> applets(Path binary) throws IOException {
        Process p = new ProcessBuilder(binary.toString(), "--list").redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            try {
                if (!p.waitFor(LIST_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException(binary + " --list: interrupted", e);
            }
        }
        if (p.exitValue() != 0) {
            throw new IOException(binary + " --list exited with " + p.exitValue() + ": " + out.strip());
        }
        Set<String> names = new TreeSet<>();
        for (String line : out.split("\n")) {
            String a = line.strip();
            if (a.isEmpty() || a.equals("busybox")) {
                continue;
            }
            if (a.contains("/") || a.equals(".") || a.equals("..")) {
                throw new IOException(binary + " --list printed \"" + a + "\", not an applet name");
            }
            names.add(a);
        }
        if (!names.contains("sh")) {
            throw new IOException(binary + " has no sh applet; is it busybox?");
        }
        return new ArrayList<>(names);
    }

    /** The layer, uncompressed: directories before their contents, everything owned by root. */
    static byte[] busyboxTar(byte[] busybox, List<String> applets) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(busybox.length + 64 * 1024);
        TarOutput tar = new TarOutput(bytes);
        tar.directory("bin", 0755, MTIME);
        tar.file("bin/busybox", 0755, MTIME, busybox);
        for (String a : applets) {
            tar.symlink("bin/" + a, "busybox", MTIME);
        }
        tar.directory("dev", 0755, MTIME);
        tar.directory("etc", 0755, MTIME);
        tar.file("etc/group", 0644, MTIME, "root:x:0:\ntty:x:5:\nnobody:x:65534:\n".getBytes(StandardCharsets.US_ASCII));
        tar.file("etc/passwd", 0644, MTIME, ("root:x:0:0:root:/root:/bin/sh\n"
                + "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n").getBytes(StandardCharsets.US_ASCII));
        tar.directory("home", 0755, MTIME);
        tar.directory("proc", 0555, MTIME);
        tar.directory("root", 0700, MTIME);
        tar.directory("sys", 0555, MTIME);
        tar.directory("tmp", 01777, MTIME);
        tar.directory("usr", 0755, MTIME);
        tar.directory("usr/bin", 0755, MTIME);
        tar.directory("usr/sbin", 0755, MTIME);
        tar.directory("var", 0755, MTIME);
        tar.finish();
        return bytes.toByteArray();
    }

    /** gzip at the best level; Java writes a header with mtime 0 and no file name, so it is fixed. */
    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 2);
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 64 * 1024) {
            {
                def.setLevel(Deflater.BEST_COMPRESSION);
            }
        }) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    /** The Go name of this machine's architecture, which the busybox binary is built for. */
    static String architecture() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            default -> arch;
        };
    }
}
