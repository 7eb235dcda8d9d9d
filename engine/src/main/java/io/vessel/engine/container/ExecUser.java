package io.vessel.engine.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The credentials a container's process runs with, resolved as Docker resolves {@code --user}
 * against the image's own {@code /etc/passwd} and {@code /etc/group}: {@code name}, {@code uid},
 * {@code name:group}, {@code uid:gid} (and mixes); the primary group and home come from the
 * passwd entry, supplementary groups from the group file's member lists, unless a group is given.
 *
 * @param home the passwd entry's home directory, {@code /} if there is none
 */
public record ExecUser(long uid, long gid, List<Long> additionalGids, String home) {
    /** Docker's range for ids given by number. */
    private static final long MAX_ID = Integer.MAX_VALUE;

    public ExecUser {
        additionalGids = List.copyOf(additionalGids);
    }

    /** One line of /etc/passwd. */
    record PasswdEntry(String name, long uid, long gid, String home) {
    }

    /** One line of /etc/group. */
    record GroupEntry(String name, long gid, List<String> members) {
    }

    /**
     * Resolves {@code user} (null or empty: root) and {@code groupAdd} ({@code --group-add},
     * names or numbers) in the root file system {@code rootfs}.
     *
     * @throws IllegalArgumentException "unable to find user X: no matching entries in passwd file", and the like
     */
    public static ExecUser resolve(Path rootfs, String user, List<String> groupAdd) throws IOException {
        return resolve(readPasswd(rootfs), readGroups(rootfs), user, groupAdd);
    }

    static ExecUser resolve(List<PasswdEntry> passwd, List<GroupEntry> groups, String user, List<String> groupAdd) {
        String spec = user == null ? "" : user;
        int colon = spec.indexOf(':');
        String userArg = colon < 0 ? spec : spec.substring(0, colon);
        String groupArg = colon < 0 ? "" : spec.substring(colon + 1);
        Long uidArg = number(userArg);
        long uid = 0;
        long gid = 0;
        String home = "/";
        String name = null;
        PasswdEntry found = null;
        for (PasswdEntry e : passwd) {
            boolean match = userArg.isEmpty() ? e.uid() == 0 : uidArg != null ? e.uid() == uidArg : e.name().equals(userArg);
            if (match) {
                found = e;
                break;
            }
        }
        if (found != null) {
            uid = found.uid();
            gid = found.gid();
            home = found.home().isEmpty() ? "/" : found.home();
            name = found.name();
        } else if (!userArg.isEmpty()) {
            if (uidArg == null) {
                throw new IllegalArgumentException("unable to find user " + userArg + ": no matching entries in passwd file");
            }
            uid = checkRange(uidArg);
        }
        List<Long> supplementary = new ArrayList<>();
        if (!groupArg.isEmpty()) {
            Long gidArg = number(groupArg);
            GroupEntry g = null;
            for (GroupEntry e : groups) {
                if (gidArg != null ? e.gid() == gidArg : e.name().equals(groupArg)) {
                    g = e;
                    break;
                }
            }
            if (g != null) {
                gid = g.gid();
            } else if (gidArg != null) {
                gid = checkRange(gidArg);
            } else {
                throw new IllegalArgumentException("unable to find group " + groupArg + ": no matching entries in group file");
            }
        } else if (name != null) {
            for (GroupEntry e : groups) {
                if (e.members().contains(name)) {
                    supplementary.add(e.gid());
                }
            }
        }
        Set<Long> all = new LinkedHashSet<>(supplementary);
        for (String g : groupAdd) {
            Long n = number(g);
            GroupEntry match = null;
            for (GroupEntry e : groups) {
                if (e.name().equals(g)) {
                    match = e;
                    break;
                }
            }
            if (match != null) {
                all.add(match.gid());
            } else if (n != null) {
                all.add(checkRange(n));
            } else {
                throw new IllegalArgumentException("unable to find group " + g + ": no matching entries in group file");
            }
        }
        return new ExecUser(uid, gid, new ArrayList<>(all), home);
    }

    private static long checkRange(long id) {
        if (id < 0 || id > MAX_ID) {
            throw new IllegalArgumentException("uids and gids must be in range 0-" + MAX_ID + ", not " + id);
        }
        return id;
    }

    private static Long number(String s) {
        if (s.isEmpty() || s.length() > 19 || !s.chars().allMatch(Character::isDigit)) {
            return null;
        }
        return Long.parseLong(s);
    }

    static List<PasswdEntry> readPasswd(Path rootfs) throws IOException {
        List<PasswdEntry> out = new ArrayList<>();
        for (String[] f : lines(rootfs, "/etc/passwd")) {
            Long uid = f.length > 2 ? number(f[2]) : null;
            Long gid = f.length > 3 ? number(f[3]) : null;
            if (uid != null && gid != null) { // a malformed line is skipped, as libc does
                out.add(new PasswdEntry(f[0], uid, gid, f.length > 5 ? f[5] : ""));
            }
        }
        return out;
    }

    static List<GroupEntry> readGroups(Path rootfs) throws IOException {
        List<GroupEntry> out = new ArrayList<>();
        for (String[] f : lines(rootfs, "/etc/group")) {
            Long gid = f.length > 2 ? number(f[2]) : null;
            if (gid != null) {
                List<String> members = new ArrayList<>();
                if (f.length > 3) {
                    for (String m : f[3].split(",")) {
                        if (!m.isBlank()) {
                            members.add(m.trim());
                        }
                    }
                }
                out.add(new GroupEntry(f[0], gid, members));
            }
        }
        return out;
    }

    private static List<String[]> lines(Path rootfs, String file) throws IOException {
        Path p = RootPath.existing(rootfs, file);
        List<String[]> out = new ArrayList<>();
        if (p == null || !Files.isRegularFile(p)) {
            return out;
        }
        String text = new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.UTF_8); // lenient
        for (String line : text.split("\n")) {
            String t = line.strip();
            if (!t.isEmpty() && !t.startsWith("#")) {
                out.add(t.split(":", -1));
            }
        }
        return out;
    }
}
