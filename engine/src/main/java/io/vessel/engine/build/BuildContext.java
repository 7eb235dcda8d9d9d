package io.vessel.engine.build;

import io.vessel.image.Digest;
import io.vessel.image.Digester;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The build context: a directory and its {@code .dockerignore}. {@link #resolve} turns the
 * sources of a COPY or ADD into exactly the files, directories and symlinks it will copy, and
 * {@link Selection#digest} hashes them for the cache key.
 *
 * <p>Sources are relative to the context (a leading {@code /} included); one that leads out of
 * it, by {@code ..} or through a symlink, is refused. A source may be a Go-style wildcard
 * ({@code *}, {@code ?}, {@code [..]} within one path element). A directory source copies its
 * contents, not itself; a symlink named as a source is followed, symlinks found inside a copied
 * directory are copied as symlinks. Paths the {@code .dockerignore} excludes are not seen.
 */
public final class BuildContext {
    /** What a context path is. */
    public enum Kind { FILE, DIRECTORY, SYMLINK }

    /** How ADD would extract a local file: not at all, or as a (compressed) tar archive. */
    public enum Archive { NONE, TAR, GZIP, BZIP2, XZ, ZSTD }

    /**
     * One thing a COPY or ADD writes.
     *
     * @param name    where it goes, relative to the destination: the base name of a file
     *                source, the path below a directory source
     * @param path    the file on the host
     * @param kind    file, directory or symlink
     * @param mode    permission bits including setuid, setgid and sticky
     * @param target  a symlink's target, else null
     * @param archive for a file named by a source itself, whether ADD extracts it
     */
    public record Item(String name, Path path, Kind kind, int mode, String target, Archive archive) {
    }

    /**
     * What a list of sources selects.
     *
     * @param items   everything to copy, in order: the sources as given, each walked in name order
     * @param matched how many context paths the sources named (wildcards counted per match)
     */
    public record Selection(List<Item> items, int matched) {
        public Selection {
            items = List.copyOf(items);
        }

        /**
         * Checks the destination rule: several sources need a directory destination, written
         * with a trailing slash.
         */
        public void checkDestination(String dest) {
            if (matched > 1 && !dest.endsWith("/")) {
                throw new IllegalArgumentException("copying " + matched + " sources needs a destination"
                        + " directory ending with '/', not \"" + dest + "\"");
            }
        }

        /**
         * The content hash of the selection: each item's name, kind, mode, and its content (a
         * file's sha256, a symlink's target). Owners and times are left out, as COPY does not
         * keep them.
         */
        public Digest digest() throws IOException {
            StringBuilder in = new StringBuilder();
            for (Item i : items) {
                in.append(io.vessel.json.Json.write(i.name())).append(' ').append(i.kind()).append(' ')
                        .append(Integer.toOctalString(i.mode()));
                switch (i.kind()) {
                    case FILE -> in.append(' ').append(fileDigest(i.path()));
                    case SYMLINK -> in.append(' ').append(io.vessel.json.Json.write(i.target()));
                    case DIRECTORY -> {
                    }
                }
                in.append('\n');
            }
            return Digest.of(in.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    private static final Pattern URL = Pattern.compile("[a-zA-Z][a-zA-Z0-9+.-]*://.*|git@.*");

    private final Path root;
    private final Path realRoot;
    private final DockerIgnore ignore;

    private BuildContext(Path root, DockerIgnore ignore) throws IOException {
        this.root = root;
        this.realRoot = root.toRealPath();
        this.ignore = ignore;
    }

    /** The context in {@code dir}, with its {@code .dockerignore} if there is one. */
    public static BuildContext open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "the build context is not a directory");
        }
        return new BuildContext(dir, DockerIgnore.read(dir));
    }

    /** The context in {@code dir} with the given rules. */
    public static BuildContext open(Path dir, DockerIgnore ignore) throws IOException {
        return new BuildContext(dir, ignore);
    }

    public Path root() {
        return root;
    }

    public DockerIgnore ignore() {
        return ignore;
    }

    /**
     * What {@code sources} select. Heredoc sources ({@code <<NAME}) are not context paths and
     * must be left out by the caller.
     *
     * @throws IllegalArgumentException naming the source that is a URL, leads outside the
     *                                  context, does not exist, is excluded, or matches nothing
     */
    public Selection resolve(List<String> sources) throws IOException {
        List<Item> items = new ArrayList<>();
        int matched = 0;
        for (String source : sources) {
            if (URL.matcher(source).matches()) {
                throw new IllegalArgumentException("source \"" + source
                        + "\" is a URL: Vessel builds offline and fetches nothing from the network");
            }
            String rel = PathNames.clean(source.startsWith("/") ? source.substring(1) : source);
            if (rel.equals("..") || rel.startsWith("../")) {
                throw new IllegalArgumentException("source \"" + source + "\" is outside the build context");
            }
            if (hasWildcard(rel)) {
                List<String> hits = glob(rel);
                if (hits.isEmpty()) {
                    throw new IllegalArgumentException("no file in the build context matches \"" + source + "\"");
                }
                for (String h : hits) {
                    add(h, source, items);
                }
                matched += hits.size();
            } else {
                if (!rel.equals(".") && ignore.excluded(rel)) {
                    throw new IllegalArgumentException("source \"" + source + "\" is excluded by .dockerignore");
                }
                add(rel, source, items);
                matched++;
            }
        }
        return new Selection(items, matched);
    }

    /** The content digest of what {@code sources} select, the cache key's input for COPY/ADD. */
    public Digest digest(List<String> sources) throws IOException {
        return resolve(sources).digest();
    }

    /**
     * {@link #resolve} for an expanded COPY or ADD, its heredoc sources left out, with errors as
     * {@link DockerfileException}s at the instruction's line; also checks the destination rule.
     */
    public Selection resolve(Instruction expanded, String fileName) throws IOException {
        List<String> sources;
        String dest;
        if (expanded instanceof Instruction.Copy c) {
            sources = new ArrayList<>();
            for (String s : c.sources()) {
                if (!isHeredoc(s, c.heredocs())) {
                    sources.add(s);
                }
            }
            dest = c.dest();
        } else if (expanded instanceof Instruction.Add a) {
            sources = a.sources();
            dest = a.dest();
        } else {
            throw new IllegalArgumentException(expanded.keyword() + " reads nothing from the build context");
        }
        try {
            Selection s = resolve(sources);
            int heredocs = expandedCount(expanded) - sources.size();
            new Selection(s.items(), s.matched() + heredocs).checkDestination(dest);
            return s;
        } catch (IllegalArgumentException e) {
            throw new DockerfileException(fileName, expanded.line(), expanded.keyword() + ": " + e.getMessage());
        }
    }

    private static int expandedCount(Instruction ins) {
        return ins instanceof Instruction.Copy c ? c.sources().size() : ((Instruction.Add) ins).sources().size();
    }

    private static boolean isHeredoc(String source, List<Instruction.Heredoc> heredocs) {
        for (Instruction.Heredoc h : heredocs) {
            if (source.matches("<<-?[\"']?" + Pattern.quote(h.name()) + "[\"']?")) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasWildcard(String path) {
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '*' || c == '?' || c == '[' || c == '\\') {
                return true;
            }
        }
        return false;
    }

    /** Context paths (not excluded) that match a wildcard source, in name order. */
    private List<String> glob(String pattern) throws IOException {
        Pattern re = DockerIgnore.compile(pattern, false);
        int depth = pattern.split("/").length;
        List<String> out = new ArrayList<>();
        walkNames("", depth, re, out);
        return out;
    }

    private void walkNames(String dir, int depth, Pattern re, List<String> out) throws IOException {
        for (Path child : children(dir.isEmpty() ? root : root.resolve(dir))) {
            String rel = dir.isEmpty() ? child.getFileName().toString() : dir + "/" + child.getFileName();
            boolean excluded = ignore.excluded(rel);
            if (!excluded && re.matcher(rel).matches()) {
                out.add(rel);
            }
            if (depth > 1 && Files.isDirectory(child, LinkOption.NOFOLLOW_LINKS)
                    && (!excluded || ignore.exceptionsBelow(rel))) {
                walkNames(rel, depth - 1, re, out);
            }
        }
    }

    private static List<Path> children(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted(java.util.Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
    }

    /** Adds what the context path {@code rel} contributes: a file, or a directory's contents. */
    private void add(String rel, String source, List<Item> items) throws IOException {
        Path p = rel.equals(".") ? root : root.resolve(rel);
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("source \"" + source + "\" does not exist in the build context");
        }
        Path real = p.toRealPath();
        if (!real.startsWith(realRoot)) {
            throw new IllegalArgumentException("source \"" + source
                    + "\" leads outside the build context through a symlink (to " + real + ")");
        }
        PosixFileAttributes a = Files.readAttributes(real, PosixFileAttributes.class);
        if (a.isDirectory()) {
            String realRel = realRoot.relativize(real).toString();
            walk(real, realRel.isEmpty() ? "" : realRel, "", items);
        } else if (a.isRegularFile()) {
            items.add(new Item(p.getFileName() == null ? rel : p.getFileName().toString(), real, Kind.FILE,
                    mode(a.permissions(), real), null, archive(real)));
        } else {
            throw new IllegalArgumentException("source \"" + source + "\" is not a file, directory or symlink");
        }
    }

    /** Walks a directory: its entries under names relative to the copied directory. */
    private void walk(Path dir, String contextRel, String name, List<Item> items) throws IOException {
        for (Path child : children(dir)) {
            String file = child.getFileName().toString();
            String rel = contextRel.isEmpty() ? file : contextRel + "/" + file;
            String childName = name.isEmpty() ? file : name + "/" + file;
            boolean excluded = ignore.excluded(rel);
            PosixFileAttributes a = Files.readAttributes(child, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (a.isDirectory()) {
                if (!excluded) {
                    items.add(new Item(childName, child, Kind.DIRECTORY, mode(a.permissions(), child), null,
                            Archive.NONE));
                }
                if (!excluded || ignore.exceptionsBelow(rel)) {
                    walk(child, rel, childName, items);
                }
            } else if (excluded) {
                continue;
            } else if (a.isSymbolicLink()) {
                items.add(new Item(childName, child, Kind.SYMLINK, 0777, Files.readSymbolicLink(child).toString(),
                        Archive.NONE));
            } else if (a.isRegularFile()) {
                items.add(new Item(childName, child, Kind.FILE, mode(a.permissions(), child), null, Archive.NONE));
            } else {
                throw new IllegalArgumentException("\"" + rel + "\" in the build context is a "
                        + (a.isOther() ? "device, socket or FIFO" : "special file") + ", which COPY cannot copy");
            }
        }
    }

    /** Permission bits plus setuid/setgid/sticky (from the unix:mode attribute). */
    private static int mode(Set<PosixFilePermission> perms, Path p) throws IOException {
        Object m = Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if (m instanceof Integer i) {
            return i & 07777;
        }
        int out = 0;
        for (PosixFilePermission perm : perms) {
            out |= 1 << (8 - perm.ordinal());
        }
        return out;
    }

    /** Whether ADD extracts a local file, told by its magic bytes as Docker does. */
    static Archive archive(Path file) throws IOException {
        byte[] head = new byte[512];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        if (n >= 3 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b && head[2] == 8) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
                byte[] inner = in.readNBytes(512);
                return isTar(inner, inner.length) ? Archive.GZIP : Archive.NONE;
            } catch (IOException e) {
                return Archive.NONE; // not really gzip: ADD copies it as it is
            }
        }
        if (n >= 3 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h') {
            return Archive.BZIP2;
        }
        if (n >= 6 && (head[0] & 0xff) == 0xfd && head[1] == '7' && head[2] == 'z' && head[3] == 'X'
                && head[4] == 'Z' && head[5] == 0) {
            return Archive.XZ;
        }
        if (n >= 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
                && (head[3] & 0xff) == 0xfd) {
            return Archive.ZSTD;
        }
        return isTar(head, n) ? Archive.TAR : Archive.NONE;
    }

    /** A ustar or GNU tar header: "ustar" at 257 and a valid header checksum. */
    private static boolean isTar(byte[] h, int n) {
        if (n < 512 || h[257] != 'u' || h[258] != 's' || h[259] != 't' || h[260] != 'a' || h[261] != 'r') {
            return false;
        }
        long sum = 0;
        for (int i = 0; i < 512; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xff);
        }
        String field = new String(h, 148, 8, StandardCharsets.US_ASCII).replace('\0', ' ').strip();
        try {
            return !field.isEmpty() && Long.parseLong(field, 8) == sum;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static Digest fileDigest(Path p) throws IOException {
        Digester d = Digester.sha256();
        byte[] buf = new byte[65536];
        try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
            int r;
            while ((r = in.read(buf)) > 0) {
                d.update(buf, 0, r);
            }
        }
        return d.digest();
    }
}
