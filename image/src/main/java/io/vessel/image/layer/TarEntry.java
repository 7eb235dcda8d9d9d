package io.vessel.image.layer;

import java.util.Map;

/**
 * One member of a tar archive, after pax extended headers and GNU long names have been folded in.
 *
 * @param index       1-based position among the archive's members (extension headers not counted)
 * @param offset      byte offset of the member's first header block in the uncompressed archive
 * @param name        the path as stored (not yet normalised)
 * @param type        what the member is
 * @param mode        the permission bits, setuid/setgid/sticky included (07777)
 * @param linkName    target of a hard or symbolic link, else empty
 * @param xattrs      extended attributes from pax {@code SCHILY.xattr.*} records, raw values
 * @param mtimeNanos  nanoseconds part of the modification time (pax {@code mtime} may be fractional)
 */
public record TarEntry(long index, long offset, String name, Type type, int mode, long uid, long gid, long size,
                       long mtimeSeconds, int mtimeNanos, String linkName, int devMajor, int devMinor,
                       Map<String, byte[]> xattrs) {
    /** Member types of POSIX ustar ({@code typeflag}), GNU contiguous files counted as regular. */
    public enum Type { REGULAR, HARDLINK, SYMLINK, CHAR, BLOCK, DIRECTORY, FIFO }

    public TarEntry {
        xattrs = Map.copyOf(xattrs);
    }

    @Override
    public String toString() {
        return "entry " + index + " (" + name + ") " + type;
    }
}
