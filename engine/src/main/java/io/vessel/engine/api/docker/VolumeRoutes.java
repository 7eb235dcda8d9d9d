package io.vessel.engine.api.docker;

import io.vessel.engine.Engine;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.engine.events.Event;
import io.vessel.engine.volume.Volume;
import io.vessel.engine.volume.VolumeStore;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code /volumes}: create, list, inspect, remove, prune, over the engine's {@link VolumeStore}. */
final class VolumeRoutes {
    private static final Set<String> LIST_FILTERS = Set.of("name", "label", "dangling", "driver");
    private static final Set<String> PRUNE_FILTERS = Set.of("label", "all");

    private final Engine engine;

    VolumeRoutes(Engine engine) {
        this.engine = engine;
    }

    void register(Router r) {
        r.get("/volumes", this::list);
        r.post("/volumes/create", this::create);
        r.post("/volumes/prune", this::prune);
        r.get("/volumes/{name}", this::inspect);
        r.delete("/volumes/{name}", this::remove);
    }

    static Map<String, Object> toJson(Volume v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("CreatedAt", v.createdAt());
        m.put("Driver", v.driver());
        m.put("Labels", v.labels());
        m.put("Mountpoint", v.mountpoint().toString());
        m.put("Name", v.name());
        m.put("Options", v.options());
        m.put("Scope", "local");
        return m;
    }

    private void create(HttpRequest req, HttpExchange ex) throws IOException {
        JsonNode body = req.readJson("volume create", false);
        body.only("Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec");
        if (body.get("ClusterVolumeSpec").present()) {
            throw ApiException.badRequest("volume create: ClusterVolumeSpec needs swarm mode, which Vessel does not have");
        }
        String driver = body.get("Driver").string("");
        if (!driver.isEmpty() && !driver.equals(Volume.LOCAL)) {
            throw ApiException.badRequest("volume create: driver \"" + driver + "\" is not available; only \"local\" is");
        }
        String name = body.get("Name").string("");
        Map<String, String> labels = body.get("Labels").present() ? body.get("Labels").stringMap() : Map.of();
        Map<String, String> opts = body.get("DriverOpts").present() ? body.get("DriverOpts").stringMap() : Map.of();
        Volume v = engine.volumes().create(name.isEmpty() ? null : name, labels, opts);
        engine.events().publish(Event.now(Event.VOLUME, "create", v.name(), Map.of("driver", v.driver())));
        ex.json(Status.CREATED, toJson(v));
    }

    private void list(HttpRequest req, HttpExchange ex) throws IOException {
        Filters f = Filters.parse(req.query("filters"), LIST_FILTERS);
        List<Map<String, Object>> out = new ArrayList<>();
        if (f.get("driver").stream().allMatch(Volume.LOCAL::equals)) {
            for (Volume v : engine.volumes().list(new VolumeStore.Filter(f.get("name"), f.get("label"), f.bool("dangling")))) {
                out.add(toJson(v));
            }
        }
        ex.json(Status.OK, Map.of("Volumes", out, "Warnings", List.of()));
    }

    private void inspect(HttpRequest req, HttpExchange ex) throws IOException {
        ex.json(Status.OK, toJson(engine.volumes().inspect(req.param("name"))));
    }

    private void remove(HttpRequest req, HttpExchange ex) throws IOException {
        String name = req.param("name");
        engine.volumes().remove(name, req.queryBool("force", false));
        engine.events().publish(Event.now(Event.VOLUME, "destroy", name, Map.of()));
        ex.empty(Status.NO_CONTENT);
    }

    private void prune(HttpRequest req, HttpExchange ex) throws IOException {
        Filters f = Filters.parse(req.query("filters"), PRUNE_FILTERS);
        Boolean all = f.bool("all");
        VolumeStore.PruneReport r = engine.volumes().prune(all != null && all,
                new VolumeStore.Filter(List.of(), f.get("label"), null));
        for (String n : r.removed()) {
            engine.events().publish(Event.now(Event.VOLUME, "destroy", n, Map.of()));
        }
        ex.json(Status.OK, Map.of("VolumesDeleted", r.removed(), "SpaceReclaimed", r.spaceReclaimed()));
    }
}
