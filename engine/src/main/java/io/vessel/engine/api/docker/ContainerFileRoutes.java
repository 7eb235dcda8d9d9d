package io.vessel.engine.api.docker;

import io.vessel.engine.ContainerFiles;
import io.vessel.engine.Engine;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.image.store.ImageStore;
import io.vessel.json.Json;
import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The routes over a container's file system: {@code GET /containers/{id}/changes} (docker diff),
 * {@code GET /containers/{id}/export}, {@code POST /commit}; and {@code POST /containers/{id}/update}.
 * Separate from {@link ContainerRoutes}, whose lifecycle they do not share.
 */
final class ContainerFileRoutes {
    private final Engine engine;

    ContainerFileRoutes(Engine engine) {
        this.engine = engine;
    }

    void register(Router r) {
        r.get("/containers/{id}/changes", ContainerRoutes.wrap(this::changes));
        r.get("/containers/{id}/export", ContainerRoutes.wrap(this::export));
        r.post("/commit", ContainerRoutes.wrap(this::commit));
    }

    private void changes(HttpRequest req, HttpExchange ex) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ContainerFiles.Change c : engine.containerFiles().changes(req.param("id"))) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Path", c.path());
            m.put("Kind", c.kind().code());
            out.add(m);
        }
        ex.json(Status.OK, out);
    }

    private void export(HttpRequest req, HttpExchange ex) throws IOException {
        engine.containers().inspect(req.param("id")); // a 404 before the archive begins
        try (OutputStream out = ex.stream(Status.OK, "application/x-tar")) {
            engine.containerFiles().export(req.param("id"), out);
        }
    }

    private void commit(HttpRequest req, HttpExchange ex) throws IOException {
        String container = req.query("container", "");
        if (container.isEmpty()) {
            throw ApiException.badRequest("the query parameter container is required: the container to commit");
        }
        String repo = req.query("repo", "");
        String tag = req.query("tag", "");
        if (repo.isEmpty() && !tag.isEmpty()) {
            throw ApiException.badRequest("tag \"" + tag + "\" needs a repository (query parameter repo)");
        }
        String reference = repo.isEmpty() ? null : tag.isEmpty() ? repo : repo + ":" + tag;
        JsonNode config = null;
        String body = new String(req.readBody(), StandardCharsets.UTF_8).strip();
        if (!body.isEmpty() && !body.equals("null")) {
            try {
                config = JsonNode.root("commit config", Json.parse(body));
            } catch (JsonException e) {
                throw ApiException.badRequest("commit: invalid JSON in the body: " + e.getMessage());
            }
        }
        ImageStore.Image image = engine.containerFiles().commit(new ContainerFiles.CommitRequest(container, reference,
                req.query("comment", ""), req.query("author", ""), req.queryAll("changes"),
                req.queryBool("pause", true), config));
        ex.json(Status.CREATED, Map.of("Id", image.id().toString()));
    }
}
