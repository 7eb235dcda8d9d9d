package io.vessel.runtime.container;

import io.vessel.json.Json;
import io.vessel.json.JsonNode;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the runtime remembers of a container between invocations ({@code <root>/<id>/state.json}).
 * The process is identified by pid and start time together, so a reused pid is never mistaken
 * for the container.
 */
public record ContainerState(
        String id,
        int pid,
        long pidStartTime,
        String bundle,
        String rootfs,
        String created,
        Map<String, String> annotations,
        Map<String, String> cgroupPaths,
        boolean hasUserNamespace,
        boolean noNewKeyring) {

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("pid", pid);
        m.put("pidStartTime", pidStartTime);
        m.put("bundle", bundle);
        m.put("rootfs", rootfs);
        m.put("created", created);
        m.put("annotations", annotations);
        m.put("cgroupPaths", cgroupPaths);
        m.put("hasUserNamespace", hasUserNamespace);
        m.put("noNewKeyring", noNewKeyring);
        return m;
    }

    public static ContainerState parse(String text) {
        JsonNode n = JsonNode.parse("state.json", text);
        return new ContainerState(n.get("id").string(), n.get("pid").intValue(), n.get("pidStartTime").longValue(),
                n.get("bundle").string(), n.get("rootfs").string(), n.get("created").string(),
                n.get("annotations").stringMap(), n.get("cgroupPaths").stringMap(),
                n.get("hasUserNamespace").bool(false), n.get("noNewKeyring").bool(false));
    }

    public String toJsonText() {
        return Json.write(toJson());
    }
}
