package io.vessel.engine.api.docker;

import io.vessel.engine.ContainerFiles;
import io.vessel.engine.Containers;
import io.vessel.engine.container.ResourceUpdate;
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
        r.post("/containers/{id}/update", ContainerRoutes.wrap(this::update));
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

    /** HostConfig fields of an update body that Vessel does not apply: a warning each when set. */
    private static final List<String> NOT_UPDATED = List.of("BlkioWeight", "CpuPeriod", "CpuQuota",
            "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "MemoryReservation", "MemorySwap",
            "MemorySwappiness", "KernelMemory", "KernelMemoryTCP");

    /**
     * docker update: Memory, NanoCpus and CpuShares change when not 0 (the CLI sends 0 for a flag not
     * given), PidsLimit when present (0 or -1: unlimited), RestartPolicy when it has a Name.
     */
    private void update(HttpRequest req, HttpExchange ex) throws IOException {
        JsonNode body = req.readJson("container update", false);
        engine.containers().inspect(req.param("id")); // a 404 before the body is judged
        Long memory = nonZero(body, "Memory");
        Long nanoCpus = nonZero(body, "NanoCpus");
        Long shares = nonZero(body, "CpuShares");
        JsonNode pids = body.get("PidsLimit");
        Long pidsLimit = pids.present() && pids.value() != null ? number(pids, "PidsLimit") : null;
        ResourceUpdate limits = new ResourceUpdate(memory, nanoCpus, shares, pidsLimit);
        Containers.RestartPolicy restart = null;
        JsonNode rp = body.get("RestartPolicy");
        if (rp.present() && rp.value() != null) {
            if (!rp.isObject()) {
                throw ApiException.badRequest("RestartPolicy must be an object with Name and MaximumRetryCount");
            }
            String name = rp.get("Name").present() && rp.get("Name").value() != null ? rp.get("Name").string() : "";
            if (!name.isEmpty()) {
                long max = rp.get("MaximumRetryCount").present() && rp.get("MaximumRetryCount").value() != null
                        ? number(rp.get("MaximumRetryCount"), "RestartPolicy.MaximumRetryCount") : 0;
                restart = new Containers.RestartPolicy(name, (int) max);
            }
        }
        List<String> warnings = new ArrayList<>();
        for (String k : NOT_UPDATED) {
            JsonNode n = body.get(k);
            if (n.present() && n.value() != null && !(n.value() instanceof Number x && x.longValue() == 0)
                    && !"".equals(n.value())) {
                warnings.add("Vessel does not update " + k + "; it was ignored");
            }
        }
        if (limits.isEmpty() && restart == null && warnings.isEmpty()) {
            throw ApiException.badRequest("container update: nothing to update: set Memory, NanoCpus, CpuShares, "
                    + "PidsLimit or RestartPolicy");
        }
        engine.containers().update(req.param("id"), limits, restart);
        ex.json(Status.OK, Map.of("Warnings", warnings));
    }

    private static Long nonZero(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (!n.present() || n.value() == null) {
            return null;
        }
        long v = number(n, field);
        return v == 0 ? null : v;
    }

    private static long number(JsonNode n, String field) {
        if (!(n.value() instanceof Number x) || x instanceof java.math.BigInteger b && b.bitLength() > 63) {
            throw ApiException.badRequest("container update: " + field + " must be an integer, not " + n.value());
        }
        if (x instanceof Double || x instanceof Float || x instanceof java.math.BigDecimal) {
            throw ApiException.badRequest("container update: " + field + " must be an integer, not " + n.value());
        }
        return x.longValue();
    }
}
