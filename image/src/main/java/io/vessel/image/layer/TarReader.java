package io.vessel.image.layer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A streaming reader of tar archives: POSIX ustar, pax extended headers ({@code path}, {@code linkpath},
 * {@code size}, {@code uid}, {@code gid}, {@code mtime}, {@code SCHILY.xattr.*}) and GNU long names and
 * long link targets ({@code L}/{@code K}). Header checksums are verified; every error names the member
 * and its byte offset. Call {@link #next()} until it returns null, reading each member's data from
 * {@link #content()} (unread data is skipped). Not thread-safe.
 */
public final class TarReader {
    /** POSIX ustar: archives are a sequence of 512-byte blocks. */
    static final int BLOCK = 512;
    // POSIX ustar header fields (pax(1), "ustar Interchange Format"): offset and length
    static final int NAME = 0, NAME_LEN = 100, MODE = 100, UID = 108, GID = 116, NUM_LEN = 8, SIZE = 124,
            MTIME = 136, TIME_LEN = 12, CHKSUM = 148, TYPEFLAG = 156, LINKNAME = 157, MAGIC = 257, MAGIC_LEN = 6,
            DEVMAJOR = 329, DEVMINOR = 337, PREFIX = 345, PREFIX_LEN = 155;
    /** POSIX ustar magic (with its NUL); GNU tar's old format writes "ustar  " and has no prefix field. */
    static final byte[] USTAR_MAGIC = {'u', 's', 't', 'a', 'r', 0};
    // typeflag values: POSIX ustar ('0'..'7'), pax ('x', 'g'), GNU ('L' long name, 'K' long link target)
    static final byte REG = '0', AREG = 0, LNK = '1', SYM = '2', CHR = '3', BLK = '4', DIR = '5', FIFO = '6',
            CONT = '7', PAX = 'x', PAX_GLOBAL = 'g', GNU_LONGNAME = 'L', GNU_LONGLINK = 'K';
    /**
     * Most bytes of pax and GNU long-name extensions this reader buffers for one member, all its
     * extension headers together (each pax record stays in memory until the member comes); real ones
     * are a few hundred bytes.
     */
    static final int MAX_EXTENSION = 1 << 20;
    /** Prefix of pax records carrying extended attributes (GNU tar, libarchive, Go's archive/tar). */
    static final String PAX_XATTR = "SCHILY.xattr.";

    private final InputStream in;
    private final byte[] block = new byte[BLOCK];
    private long offset;
    private long index;
    private TarEntry current;
    private long remaining;
    private long padding;
    private boolean ended;

    public TarReader(InputStream in) {
        this.in = in;
    }

    /** Bytes consumed from the underlying stream so far. */
    public long offset() {
        return offset;
    }

    /** The next member, or null after the end-of-archive marker. */
    public TarEntry next() throws IOException {
        if (ended) {
            return null;
        }
        skip(remaining + padding);
        remaining = padding = 0;
        current = null;
        long entryIndex = index + 1;
        long entryOffset = offset;
        String longName = null;
        String longLink = null;
        Map<String, byte[]> pax = new HashMap<>();
        long extensionBytes = 0;
        while (true) {
            long headerOffset = offset;
            int n = readUpTo(block, BLOCK);
            if (n == 0) {
                throw new LayerException(LayerException.at(entryIndex, longName, headerOffset,
                        "archive ends without its end-of-archive marker (truncated?)"));
            }
            if (n < BLOCK) {
                throw new LayerException(LayerException.at(entryIndex, longName, headerOffset,
                        "truncated header (" + n + " of " + BLOCK + " bytes)"));
            }
            if (allZero(block)) {
                if (longName != null || longLink != null || !pax.isEmpty()) {
                    throw new LayerException(LayerException.at(entryIndex, longName, headerOffset,
                            "extension header not followed by a member"));
                }
                ended = true;
                return null;
            }
            String rawName = string(block, NAME, NAME_LEN);
            String where = longName != null ? longName : rawName;
            verifyChecksum(entryIndex, where, headerOffset);
            byte flag = block[TYPEFLAG];
            long size = number(SIZE, TIME_LEN, "size", entryIndex, where, headerOffset);
            if (flag == PAX || flag == PAX_GLOBAL || flag == GNU_LONGNAME || flag == GNU_LONGLINK) {
                if (size < 0 || size > MAX_EXTENSION - extensionBytes) {
                    throw new LayerException(LayerException.at(entryIndex, where, headerOffset, "extension headers of "
                            + (extensionBytes + size) + " bytes before one member (at most " + MAX_EXTENSION + ")"));
                }
                extensionBytes += size;
                byte[] data = extension(size, entryIndex, where, headerOffset);
                switch (flag) {
                    case PAX -> parsePax(data, pax, entryIndex, where, headerOffset);
                    case GNU_LONGNAME -> longName = cString(data);
                    case GNU_LONGLINK -> longLink = cString(data);
                    default -> { } // global pax defaults: none of the keys that matter here are honoured globally
                }
                continue;
            }
            return member(flag, size, entryIndex, entryOffset, headerOffset, rawName, longName, longLink, pax);
        }
    }

    private TarEntry member(byte flag, long size, long entryIndex, long entryOffset, long headerOffset, String rawName,
                            String longName, String longLink, Map<String, byte[]> pax) throws IOException {
        String name = rawName;
        if (Arrays.equals(block, MAGIC, MAGIC + MAGIC_LEN, USTAR_MAGIC, 0, USTAR_MAGIC.length)) {
            String prefix = string(block, PREFIX, PREFIX_LEN);
            if (!prefix.isEmpty()) {
                name = prefix + "/" + rawName;
            }
        }
        if (longName != null) {
            name = longName;
        }
        if (pax.containsKey("path")) {
            name = utf8(pax.get("path"));
        }
        String where = name;
        TarEntry.Type type = switch (flag) {
            case REG, AREG, CONT -> TarEntry.Type.REGULAR;
            case LNK -> TarEntry.Type.HARDLINK;
            case SYM -> TarEntry.Type.SYMLINK;
            case CHR -> TarEntry.Type.CHAR;
            case BLK -> TarEntry.Type.BLOCK;
            case DIR -> TarEntry.Type.DIRECTORY;
            case FIFO -> TarEntry.Type.FIFO;
            default -> throw new LayerException(LayerException.at(entryIndex, where, headerOffset,
                    "unsupported entry type '" + (char) (flag & 0xff) + "'"));
        };
        String link = string(block, LINKNAME, NAME_LEN);
        if (longLink != null) {
            link = longLink;
        }
        if (pax.containsKey("linkpath")) {
            link = utf8(pax.get("linkpath"));
        }
        int mode = (int) (number(MODE, NUM_LEN, "mode", entryIndex, where, headerOffset) & 07777);
        long uid = pax.containsKey("uid") ? paxNumber(pax, "uid", entryIndex, where, headerOffset)
                : number(UID, NUM_LEN, "uid", entryIndex, where, headerOffset);
        long gid = pax.containsKey("gid") ? paxNumber(pax, "gid", entryIndex, where, headerOffset)
                : number(GID, NUM_LEN, "gid", entryIndex, where, headerOffset);
        if (pax.containsKey("size")) {
            size = paxNumber(pax, "size", entryIndex, where, headerOffset);
        }
        long mtime = number(MTIME, TIME_LEN, "mtime", entryIndex, where, headerOffset);
        int nanos = 0;
        if (pax.containsKey("mtime")) {
            String t = utf8(pax.get("mtime"));
            try {
                java.math.BigDecimal d = new java.math.BigDecimal(t);
                mtime = d.setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
                nanos = d.subtract(java.math.BigDecimal.valueOf(mtime)).movePointRight(9).intValue();
            } catch (ArithmeticException | NumberFormatException e) {
                throw new LayerException(LayerException.at(entryIndex, where, headerOffset,
                        "bad pax mtime \"" + t + "\""));
            }
        }
        int major = 0;
        int minor = 0;
        if (type == TarEntry.Type.CHAR || type == TarEntry.Type.BLOCK) {
            major = (int) number(DEVMAJOR, NUM_LEN, "devmajor", entryIndex, where, headerOffset);
            minor = (int) number(DEVMINOR, NUM_LEN, "devminor", entryIndex, where, headerOffset);
        }
        Map<String, byte[]> xattrs = new HashMap<>();
        pax.forEach((k, v) -> {
            if (k.startsWith(PAX_XATTR) && k.length() > PAX_XATTR.length()) {
                xattrs.put(k.substring(PAX_XATTR.length()), v);
            }
        });
        // Only regular files carry data; for the other types the size field is informational (as GNU tar reads it).
        long dataSize = type == TarEntry.Type.REGULAR ? size : 0;
        index = entryIndex;
        remaining = dataSize;
        padding = pad(dataSize);
        current = new TarEntry(entryIndex, entryOffset, name, type, mode, uid, gid, dataSize, mtime, nanos, link,
                major, minor, xattrs);
        return current;
    }

    /** The data of the member last returned by {@link #next()}; it ends where the member does. */
    public InputStream content() {
        TarEntry entry = current;
        if (entry == null) {
            throw new IllegalStateException("no current tar entry");
        }
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (current != entry || remaining == 0) {
                    return -1;
                }
                int want = (int) Math.min(len, remaining);
                int n = in.read(b, off, want);
                if (n < 0) {
                    throw new LayerException(LayerException.at(entry.index(), entry.name(), entry.offset(),
                            "data truncated at offset " + offset + " (" + remaining + " of " + entry.size()
                                    + " bytes missing)"));
                }
                offset += n;
                remaining -= n;
                return n;
            }
        };
    }

    /** Reads and discards whatever follows the end-of-archive marker (the rest of the last record). */
    public void drain() throws IOException {
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) >= 0) {
            offset += n;
        }
    }

    private static long pad(long size) {
        long r = size % BLOCK;
        return r == 0 ? 0 : BLOCK - r;
    }

    private void skip(long count) throws IOException {
        if (count == 0) {
            return;
        }
        TarEntry entry = current;
        byte[] buf = new byte[8192];
        while (count > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, count));
            if (n < 0) {
                throw new LayerException(LayerException.at(entry.index(), entry.name(), entry.offset(),
                        "data truncated at offset " + offset));
            }
            offset += n;
            count -= n;
        }
    }

    private int readUpTo(byte[] buf, int len) throws IOException {
        int total = 0;
        while (total < len) {
            int n = in.read(buf, total, len - total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        offset += total;
        return total;
    }

    /** An extension header's data; {@code size} is already checked against the member's budget ({@link #MAX_EXTENSION}). */
    private byte[] extension(long size, long entryIndex, String where, long headerOffset) throws IOException {
        int len = (int) size;
        int padded = (int) (len + pad(len));
        byte[] data = new byte[padded];
        if (readUpTo(data, padded) < padded) {
            throw new LayerException(LayerException.at(entryIndex, where, headerOffset,
                    "extension header data truncated at offset " + offset));
        }
        return Arrays.copyOf(data, len);
    }

    /** Pax records: {@code "<length> <key>=<value>\n"}, the length counting the whole record. */
    private static void parsePax(byte[] data, Map<String, byte[]> pax, long entryIndex, String where,
                                 long headerOffset) throws LayerException {
        int pos = 0;
        while (pos < data.length) {
            if (data[pos] == 0) {
                break; // NUL padding after the last record
            }
            int space = pos;
            long length = 0;
            while (space < data.length && data[space] >= '0' && data[space] <= '9' && length < data.length) {
                length = length * 10 + (data[space] - '0');
                space++;
            }
            if (space == pos || space >= data.length || data[space] != ' ' || length <= space - pos
                    || pos + length > data.length || data[(int) (pos + length - 1)] != '\n') {
                throw new LayerException(LayerException.at(entryIndex, where, headerOffset,
                        "malformed pax record at byte " + pos + " of the extended header"));
            }
            int end = (int) (pos + length - 1);
            int eq = space + 1;
            while (eq < end && data[eq] != '=') {
                eq++;
            }
            if (eq == end || eq == space + 1) {
                throw new LayerException(LayerException.at(entryIndex, where, headerOffset,
                        "malformed pax record at byte " + pos + " of the extended header (no key=value)"));
            }
            String key = new String(data, space + 1, eq - space - 1, StandardCharsets.UTF_8);
            pax.put(key, Arrays.copyOfRange(data, eq + 1, end));
            pos = end + 1;
        }
    }

    private static long paxNumber(Map<String, byte[]> pax, String key, long entryIndex, String where,
                                  long headerOffset) throws LayerException {
        String v = utf8(pax.get(key));
        try {
            long n = Long.parseLong(v);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new LayerException(LayerException.at(entryIndex, where, headerOffset,
                    "bad pax " + key + " \"" + v + "\""));
        }
    }

    private void verifyChecksum(long entryIndex, String where, long headerOffset) throws LayerException {
        long stored;
        try {
            stored = octal(block, CHKSUM, NUM_LEN);
        } catch (NumberFormatException e) {
            throw new LayerException(LayerException.at(entryIndex, where, headerOffset, "bad header checksum"));
        }
        long unsigned = 0;
        long signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            byte b = i >= CHKSUM && i < CHKSUM + NUM_LEN ? (byte) ' ' : block[i];
            unsigned += b & 0xff;
            signed += b; // some old tars summed signed chars; POSIX says unsigned
        }
        if (stored != unsigned && stored != signed) {
            throw new LayerException(LayerException.at(entryIndex, where, headerOffset, "bad header checksum"));
        }
    }

    private long number(int off, int len, String field, long entryIndex, String where, long headerOffset)
            throws LayerException {
        try {
            if ((block[off] & 0x80) != 0) {
                // GNU base-256: the high bit of the first byte flags a big-endian binary number
                if ((block[off] & 0x40) != 0) {
                    throw new NumberFormatException("negative");
                }
                long v = block[off] & 0x3f;
                for (int i = 1; i < len; i++) {
                    if ((v >>> 55) != 0) {
                        throw new NumberFormatException("too large");
                    }
                    v = (v << 8) | (block[off + i] & 0xff);
                }
                return v;
            }
            return octal(block, off, len);
        } catch (NumberFormatException e) {
            throw new LayerException(LayerException.at(entryIndex, where, headerOffset, "bad " + field + " field \""
                    + new String(block, off, len, StandardCharsets.ISO_8859_1).replace("\0", "\\0") + "\""));
        }
    }

    /** An octal field: optional leading spaces, digits, then NUL or space (or the field's end). */
    private static long octal(byte[] b, int off, int len) {
        int i = off;
        int end = off + len;
        while (i < end && b[i] == ' ') {
            i++;
        }
        long v = 0;
        int digits = 0;
        for (; i < end && b[i] != 0 && b[i] != ' '; i++) {
            if (b[i] < '0' || b[i] > '7' || digits > 21) {
                throw new NumberFormatException();
            }
            v = (v << 3) | (b[i] - '0');
            digits++;
        }
        for (; i < end; i++) {
            if (b[i] != 0 && b[i] != ' ') {
                throw new NumberFormatException();
            }
        }
        return v;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static String string(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static String cString(byte[] data) {
        return string(data, 0, data.length);
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
