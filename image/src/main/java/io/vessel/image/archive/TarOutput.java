package io.vessel.image.archive;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a POSIX ustar archive, with a pax extended header for names or link targets longer than
 * the ustar fields hold. Every field is given by the caller (no clock, no user lookup), so the same
 * calls give the same bytes: archives and layers made with it are reproducible. Closes nothing but
 * what {@link #finish()} says.
 */
public final class TarOutput {
    private static final int BLOCK = 512;
    private static final int NAME_LEN = 100;
    /** GNU tar and Docker pad the archive to 20 blocks; readers accept any multiple of 512. */
    private static final int RECORD = 20 * BLOCK;

    private final OutputStream out;
    private long written;

    public TarOutput(OutputStream out) {
        this.out = out;
    }

    /** A directory; {@code name} without a trailing slash (one is added). */
    public void directory(String name, int mode, long mtime) throws IOException {
        header(name.endsWith("/") ? name : name + "/", '5', mode, 0, mtime, "");
    }

    public void file(String name, int mode, long mtime, byte[] data) throws IOException {
        header(name, '0', mode, data.length, mtime, "");
        body(data, data.length);
    }

    /** A regular file of exactly {@code size} bytes read from {@code data}. */
    public void file(String name, int mode, long mtime, long size, InputStream data) throws IOException {
        header(name, '0', mode, size, mtime, "");
        byte[] buffer = new byte[64 * 1024];
        long left = size;
        while (left > 0) {
            int n = data.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw new IOException("tar: " + name + " ended after " + (size - left) + " of " + size + " bytes");
            }
            write(buffer, n);
            left -= n;
        }
        if (data.read() >= 0) {
            throw new IOException("tar: " + name + " has more than the " + size + " bytes announced");
        }
        pad(size);
    }

    public void symlink(String name, String target, long mtime) throws IOException {
        header(name, '2', 0777, 0, mtime, target);
    }

    /** A hard link to the earlier member {@code target}. */
    public void hardlink(String name, String target, long mtime) throws IOException {
        header(name, '1', 0644, 0, mtime, target);
    }

    /** The end-of-archive marker (two zero blocks), padded to a whole record; flushes but does not close. */
    public void finish() throws IOException {
        write(new byte[2 * BLOCK], 2 * BLOCK);
        int rem = (int) (written % RECORD);
        if (rem != 0) {
            write(new byte[RECORD - rem], RECORD - rem);
        }
        out.flush();
    }

    private void header(String name, char type, int mode, long size, long mtime, String link) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        byte[] linkBytes = link.getBytes(StandardCharsets.UTF_8);
        Map<String, byte[]> pax = new LinkedHashMap<>();
        if (nameBytes.length > NAME_LEN) {
            pax.put("path", nameBytes);
            nameBytes = Arrays.copyOf(nameBytes, NAME_LEN);
        }
        if (linkBytes.length > NAME_LEN) {
            pax.put("linkpath", linkBytes);
            linkBytes = Arrays.copyOf(linkBytes, NAME_LEN);
        }
        if (!pax.isEmpty()) {
            byte[] records = paxRecords(pax);
            block(("PaxHeaders/" + new String(nameBytes, 0, Math.min(nameBytes.length, 80), StandardCharsets.UTF_8))
                    .getBytes(StandardCharsets.UTF_8), 'x', 0644, records.length, mtime, new byte[0]);
            body(records, records.length);
        }
        block(nameBytes, type, mode, size, mtime, linkBytes);
    }

    private void block(byte[] name, char type, int mode, long size, long mtime, byte[] link) throws IOException {
        byte[] h = new byte[BLOCK];
        System.arraycopy(name, 0, h, 0, Math.min(name.length, NAME_LEN));
        octal(h, 100, 8, mode);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, mtime);
        h[156] = (byte) type;
        System.arraycopy(link, 0, h, 157, Math.min(link.length, NAME_LEN));
        System.arraycopy(new byte[]{'u', 's', 't', 'a', 'r', 0, '0', '0'}, 0, h, 257, 8);
        System.arraycopy("root".getBytes(StandardCharsets.US_ASCII), 0, h, 265, 4);
        System.arraycopy("root".getBytes(StandardCharsets.US_ASCII), 0, h, 297, 4);
        Arrays.fill(h, 148, 156, (byte) ' ');
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        byte[] chk = String.format("%06o", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(chk, 0, h, 148, 6);
        h[154] = 0;
        h[155] = ' ';
        write(h, BLOCK);
    }

    private static byte[] paxRecords(Map<String, byte[]> pax) {
        java.io.ByteArrayOutputStream r = new java.io.ByteArrayOutputStream();
        pax.forEach((key, value) -> {
            int rest = 1 + key.getBytes(StandardCharsets.UTF_8).length + 1 + value.length + 1; // " key=value\n"
            int len = rest + String.valueOf(rest).length();
            if (String.valueOf(len).length() != String.valueOf(rest).length()) {
                len = rest + String.valueOf(len).length();
            }
            r.writeBytes((len + " " + key + "=").getBytes(StandardCharsets.UTF_8));
            r.writeBytes(value);
            r.write('\n');
        });
        return r.toByteArray();
    }

    private static void octal(byte[] h, int off, int len, long v) throws IOException {
        String s = Long.toOctalString(v);
        if (s.length() > len - 1) {
            throw new IOException("tar: value " + v + " does not fit a " + len + "-byte header field");
        }
        byte[] digits = ("0".repeat(len - 1 - s.length()) + s).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(digits, 0, h, off, len - 1);
        h[off + len - 1] = 0;
    }

    private void body(byte[] data, int length) throws IOException {
        write(data, length);
        pad(length);
    }

    private void pad(long size) throws IOException {
        int rem = (int) (size % BLOCK);
        if (rem != 0) {
            write(new byte[BLOCK - rem], BLOCK - rem);
        }
    }

    private void write(byte[] data, int length) throws IOException {
        out.write(data, 0, length);
        written += length;
    }
}
