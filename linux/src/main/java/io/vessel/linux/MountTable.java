package io.vessel.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's mount table ({@code /proc/self/mountinfo}, proc(5)): whether a directory is a
 * mount point, and the table's escapes undone for whoever reads its fields.
 */
public final class MountTable {
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");
    /** The mount point is the fifth field of a mountinfo line (proc(5)). */
    private static final int MOUNT_POINT_FIELD = 4;

    private MountTable() {
    }

    /** Whether something is mounted on {@code dir} (compared as an absolute, normalised path). */
    public static boolean isMountPoint(Path dir) throws IOException {
        String want = dir.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(MOUNTINFO, StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f.length > MOUNT_POINT_FIELD && unescape(f[MOUNT_POINT_FIELD]).equals(want)) {
                return true;
            }
        }
        return false;
    }

    /** mountinfo writes space, tab, newline and backslash as a backslash and three octal digits. */
    public static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && isOctal(s, i + 1) && isOctal(s, i + 2) && isOctal(s, i + 3)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int i) {
        return s.charAt(i) >= '0' && s.charAt(i) <= '7';
    }
}
