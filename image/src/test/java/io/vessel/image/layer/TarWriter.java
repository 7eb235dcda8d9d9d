package io.vessel.image.layer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** A test helper that writes ustar archives, with a pax header for long names and xattrs. */
final class TarWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    long uid;
    long gid;
    long mtime = 1_600_000_000L;

    TarWriter file(String name, int mode, String data) {
        return entry(name, '0', mode, "", data.getBytes(StandardCharsets.UTF_8), 0, 0, Map.of());
    }

    TarWriter dir(String name, int mode) {
        return entry(name, '5', mode, "", new byte[0], 0, 0, Map.of());
    }

    TarWriter symlink(String name, String target) {
        return entry(name, '2', 0777, target, new byte[0], 0, 0, Map.of());
    }

    TarWriter hardlink(String name, String target) {
        return entry(name, '1', 0644, target, new byte[0], 0, 0, Map.of());
    }

    TarWriter fifo(String name, int mode) {
        return entry(name, '6', mode, "", new byte[0], 0, 0, Map.of());
    }

    TarWriter chr(String name, int mode, int major, int minor) {
        return entry(name, '3', mode, "", new byte[0], major, minor, Map.of());
    }

    /** One member; a pax header first when the name is long or there are xattrs. */
    TarWriter entry(String name, char type, int mode, String link, byte[] data, int major, int minor,
                    Map<String, byte[]> xattrs) {
        Map<String, byte[]> pax = new LinkedHashMap<>();
        if (name.getBytes(StandardCharsets.UTF_8).length > 100) {
            pax.put("path", name.getBytes(StandardCharsets.UTF_8));
        }
        if (link.getBytes(StandardCharsets.UTF_8).length > 100) {
            pax.put("linkpath", link.getBytes(StandardCharsets.UTF_8));
        }
        xattrs.forEach((k, v) -> pax.put("SCHILY.xattr." + k, v));
        if (!pax.isEmpty()) {
            ByteArrayOutputStream records = new ByteArrayOutputStream();
            pax.forEach((k, v) -> records.writeBytes(paxRecord(k, v)));
            byte[] body = records.toByteArray();
            header("PaxHeaders/" + truncate(name), 'x', 0644, "", body.length, 0, 0);
            body(body);
        }
        header(truncate(name), type, mode, truncate(link), data.length, major, minor);
        body(data);
        return this;
    }

    /** A pax extended header alone, with one record (a member should follow). */
    TarWriter paxHeader(String key, byte[] value) {
        byte[] body = paxRecord(key, value);
        header("PaxHeaders/" + truncate(key), 'x', 0644, "", body.length, 0, 0);
        body(body);
        return this;
    }

    /** Raw bytes appended as they are (for corrupting archives). */
    TarWriter raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    /** The archive with its end-of-archive marker, padded to a 10240-byte record as tar(1) does. */
    byte[] finish() {
        out.writeBytes(new byte[1024]);
        int rem = out.size() % 10240;
        if (rem != 0) {
            out.writeBytes(new byte[10240 - rem]);
        }
        return out.toByteArray();
    }

    /** The archive so far without an end marker. */
    byte[] unfinished() {
        return out.toByteArray();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(b)) {
            g.write(data);
        }
        return b.toByteArray();
    }

    private static String truncate(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return b.length <= 100 ? s : new String(b, 0, 100, StandardCharsets.ISO_8859_1);
    }

    private static byte[] paxRecord(String key, byte[] value) {
        int rest = 1 + key.getBytes(StandardCharsets.UTF_8).length + 1 + value.length + 1;
        int len = rest + String.valueOf(rest).length();
        if (String.valueOf(len).length() != String.valueOf(rest).length()) {
            len = rest + String.valueOf(len).length();
        }
        ByteArrayOutputStream r = new ByteArrayOutputStream();
        r.writeBytes((len + " " + key + "=").getBytes(StandardCharsets.UTF_8));
        r.writeBytes(value);
        r.write('\n');
        return r.toByteArray();
    }

    private void header(String name, char type, int mode, String link, long size, int major, int minor) {
        byte[] h = new byte[512];
        put(h, 0, name.getBytes(StandardCharsets.ISO_8859_1));
        octal(h, 100, 8, mode);
        octal(h, 108, 8, uid);
        octal(h, 116, 8, gid);
        octal(h, 124, 12, size);
        octal(h, 136, 12, mtime);
        h[156] = (byte) type;
        put(h, 157, link.getBytes(StandardCharsets.ISO_8859_1));
        put(h, 257, new byte[]{'u', 's', 't', 'a', 'r', 0, '0', '0'});
        octal(h, 329, 8, major);
        octal(h, 337, 8, minor);
        java.util.Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(h);
    }

    private void body(byte[] data) {
        out.writeBytes(data);
        int rem = data.length % 512;
        if (rem != 0) {
            out.writeBytes(new byte[512 - rem]);
        }
    }

    private static void put(byte[] h, int off, byte[] v) {
        System.arraycopy(v, 0, h, off, v.length);
    }

    private static void octal(byte[] h, int off, int len, long v) {
        put(h, off, String.format("%0" + (len - 1) + "o\0", v).getBytes(StandardCharsets.US_ASCII));
    }
}
