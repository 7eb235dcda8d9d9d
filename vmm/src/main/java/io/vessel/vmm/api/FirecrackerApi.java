package io.vessel.vmm.api;

import io.vessel.json.JsonException;
import io.vessel.json.JsonNode;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The routes of Firecracker's control API that this VMM implements, mapped onto a
 * {@link MicroVm}: PUT /boot-source, PUT and GET /machine-config, PUT /drives/{id},
 * PUT /network-interfaces/{id}, PUT /vsock, PUT /actions, PATCH /vm, GET /. Success is 204 (200
 * with a body for GETs); every refusal is 400 with {@code fault_message}, as Firecracker answers,
 * including unknown paths and methods.
 */
public final class FirecrackerApi {
    private static final Pattern DRIVE = Pattern.compile("/drives/([^/]+)"), INTERFACE = Pattern.compile("/network-interfaces/([^/]+)");

    private final MicroVm vm;

    public FirecrackerApi(MicroVm vm) {
        this.vm = vm;
    }

    public HttpResponse handle(HttpRequest r) {
        try {
            return route(r);
        } catch (JsonException e) {
            throw new ApiException(e.getMessage(), e);
        }
    }

    private HttpResponse route(HttpRequest r) {
        String path = r.path().length() > 1 && r.path().endsWith("/") ? r.path().substring(0, r.path().length() - 1) : r.path();
        Matcher m;
        switch (r.method() + " " + path) {
            case "GET /" -> {
                return HttpResponse.ok(vm.info());
            }
            case "GET /machine-config" -> {
                return HttpResponse.ok(vm.machineConfig().json());
            }
            case "PUT /boot-source" -> vm.setBootSource(Requests.BootSource.read(body(r)));
            case "PUT /machine-config" -> vm.setMachineConfig(Requests.MachineConfig.read(body(r)));
            case "PUT /vsock" -> vm.setVsock(Requests.Vsock.read(body(r)));
            case "PUT /actions" -> {
                switch (Requests.Action.read(body(r))) {
                    case Requests.Action.InstanceStart s -> vm.start();
                    case Requests.Action.SendCtrlAltDel c -> vm.sendCtrlAltDel();
                }
            }
            case "PATCH /vm" -> {
                switch (Requests.VmState.read(body(r))) {
                    case PAUSED -> vm.pause();
                    case RESUMED -> vm.resume();
                }
            }
            default -> {
                if (r.method().equals("PUT") && (m = DRIVE.matcher(path)).matches()) {
                    vm.putDrive(Requests.Drive.read(m.group(1), body(r)));
                } else if (r.method().equals("PUT") && (m = INTERFACE.matcher(path)).matches()) {
                    vm.putNetworkInterface(Requests.NetworkInterface.read(m.group(1), body(r)));
                } else {
                    throw new ApiException("Invalid request method and/or path: " + r.method() + " " + r.path());
                }
            }
        }
        return HttpResponse.noContent();
    }

    /**
     * Applies a Firecracker configuration file ({@code --config-file}): an object with
     * "boot-source", "machine-config", "drives" and "network-interfaces" (arrays), "vsock", each
     * as its API request would carry it; then starts the VM. Refusals name the member.
     */
    public void applyConfigFile(String document, String text) {
        try {
            JsonNode root = JsonNode.parse(document, text);
            if (!root.isObject()) {
                throw new ApiException(document + ": must be a JSON object");
            }
            root.only("boot-source", "machine-config", "drives", "network-interfaces", "vsock");
            if (root.get("machine-config").present()) {
                vm.setMachineConfig(Requests.MachineConfig.read(root.get("machine-config")));
            }
            vm.setBootSource(Requests.BootSource.read(root.get("boot-source")));
            for (JsonNode d : root.get("drives").elements()) {
                vm.putDrive(Requests.Drive.read(d.get("drive_id").string(), d));
            }
            for (JsonNode n : root.get("network-interfaces").elements()) {
                vm.putNetworkInterface(Requests.NetworkInterface.read(n.get("iface_id").string(), n));
            }
            if (root.get("vsock").present()) {
                vm.setVsock(Requests.Vsock.read(root.get("vsock")));
            }
        } catch (JsonException e) {
            throw new ApiException(e.getMessage(), e);
        }
        vm.start();
    }

    /** The request's JSON body, which must be an object. */
    private static JsonNode body(HttpRequest r) {
        if (r.body().length == 0) {
            throw new ApiException(r + ": the request needs a JSON body");
        }
        JsonNode root = JsonNode.parse("request body", r.bodyText());
        if (!root.isObject()) {
            throw new ApiException(r + ": the body must be a JSON object");
        }
        return root;
    }
}
