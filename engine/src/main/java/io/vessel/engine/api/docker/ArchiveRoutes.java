package io.vessel.engine.api.docker;

import io.vessel.engine.Containers;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.engine.container.PathArchive;
import io.vessel.image.layer.LayerException;
import io.vessel.json.Json;
import io.vessel.linux.Errno;
import io.vessel.linux.ErrnoException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code /containers/{id}/archive}: a path's stat ({@code HEAD}), a path as a tar ({@code GET}) and a
 * tar unpacked into a directory ({@code PUT}), as docker cp and Testcontainers' file copies use
 * them, over {@link Containers#inRoot} and {@link PathArchive}.
 */
final class ArchiveRoutes {
    /** The response header carrying the path's stat: base64 of its JSON (dockerd's name). */
    static final String STAT_HEADER = "X-Docker-Container-Path-Stat";
    private static final String TAR = "application/x-tar";

    private final Containers containers;

    ArchiveRoutes(Containers containers) {
        this.containers = containers;
    }

    void register(Router r) {
        r.head("/containers/{id}/archive", ContainerRoutes.wrap(this::head));
        r.get("/containers/{id}/archive", ContainerRoutes.wrap(this::get));
        r.put("/containers/{id}/archive", ContainerRoutes.wrap(this::put));
    }

    private void head(HttpRequest req, HttpExchange ex) throws IOException {
        String id = req.param("id");
        String path = path(req);
        PathArchive.PathStat stat = located(id, path, () -> containers.inRoot(id, root -> PathArchive.stat(root, path)));
        ex.header(STAT_HEADER, encode(stat)).empty(Status.OK);
    }

    private void get(HttpRequest req, HttpExchange ex) throws IOException {
        String id = req.param("id");
        String path = path(req);
        located(id, path, () -> containers.inRoot(id, root -> {
            PathArchive.PathStat stat = PathArchive.stat(root, path); // a missing path fails before the response starts
            ex.header(STAT_HEADER, encode(stat));
            try (OutputStream out = ex.stream(Status.OK, TAR)) {
                PathArchive.write(root, path, out);
            }
            return null;
        }));
    }

    private void put(HttpRequest req, HttpExchange ex) throws IOException {
        String id = req.param("id");
        String path = path(req);
        if (req.queryBool("copyUIDGID", false)) {
            throw ApiException.badRequest("copyUIDGID (docker cp -a) is not supported: files keep the archive's owners");
        }
        boolean noOverwriteDirNonDir = req.queryBool("noOverwriteDirNonDir", false);
        located(id, path, () -> containers.inRoot(id, root -> {
            try {
                PathArchive.extract(root, path, req.body(), noOverwriteDirNonDir);
            } catch (IOException e) {
                if (readOnly(e)) {
                    throw new ApiException(Status.FORBIDDEN, "container rootfs is marked read-only: cannot write "
                            + path + " in container " + id, e);
                }
                if (e instanceof LayerException) {
                    throw ApiException.badRequest("the archive for " + path + " in container " + id + " was refused: "
                            + e.getMessage());
                }
                throw e;
            }
            return null;
        }));
        ex.empty(Status.OK);
    }

    /** Whether {@code e} or a cause is EROFS: from Vessel's bindings by its errno, from the JDK by its reason (strerror). */
    private static boolean readOnly(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ErrnoException x && x.errno() == Errno.EROFS
                    || t instanceof FileSystemException f && Errno.describe(Errno.EROFS).equals(f.getReason())) {
                return true;
            }
        }
        return false;
    }

    private static String path(HttpRequest req) {
        String path = req.query("path", "");
        if (path.isEmpty()) {
            throw ApiException.badRequest("the query parameter path (the path in the container) is required");
        }
        if (path.indexOf('\0') >= 0) {
            throw ApiException.badRequest("the path in the container must not contain NUL");
        }
        return path;
    }

    /** A copy's work, with a missing path or non-directory in dockerd's words (404 and 400). */
    private static <T> T located(String id, String path, Work<T> work) throws IOException {
        try {
            return work.run();
        } catch (NotDirectoryException e) {
            throw ApiException.badRequest("the path " + path + " in container " + id + " is not a directory");
        } catch (NoSuchFileException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("No such container")) {
                throw e;
            }
            throw ApiException.notFound("Could not find the file " + path + " in container " + id);
        }
    }

    private interface Work<T> {
        T run() throws IOException;
    }

    /** dockerd's {@code PathStat} JSON, base64 encoded. */
    static String encode(PathArchive.PathStat s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", s.name());
        m.put("size", s.size());
        m.put("mode", s.goMode());
        m.put("mtime", s.mtime().toString());
        m.put("linkTarget", s.linkTarget());
        return Base64.getEncoder().encodeToString(Json.write(m).getBytes(StandardCharsets.UTF_8));
    }
}
