package io.vessel.engine.api.docker;

import io.vessel.engine.Engine;
import io.vessel.engine.Health;
import io.vessel.engine.api.http.ApiException;
import io.vessel.engine.api.http.Handler;
import io.vessel.engine.api.http.HttpExchange;
import io.vessel.engine.api.http.HttpRequest;
import io.vessel.engine.api.http.Router;
import io.vessel.engine.api.http.Status;
import io.vessel.engine.build.BuildException;
import io.vessel.engine.build.DockerfileException;
import io.vessel.engine.events.Event;
import io.vessel.engine.volume.VolumeException;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.registry.RegistryException;
import io.vessel.image.store.ImageConflictException;
import io.vessel.image.store.ImageNotFoundException;
import io.vessel.json.JsonNode;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Docker Engine API over the engine: the routes the docker CLI and Testcontainers use, each
 * under an optional {@code /v1.NN} prefix within [{@link ApiVersion#MIN}, {@link ApiVersion#MAX}].
 * Errors are answered as dockerd does, {@code {"message": "..."}} with 400, 404, 409 or 500.
 *
 * <p>The container and exec routes belong to the container lifecycle and are added to
 * {@link #router()} by it; everything else is registered here.
 */
public final class DockerApi {
    /** Vessel's own version: the {@code Vessel} component of {@code /version}, and the {@code Server} header's. */
    public static final String VERSION = "0.1.0";
    /**
     * The Docker Engine release whose API Vessel serves ({@link ApiVersion#MAX}, 1.50, is Docker 28.2's):
     * the {@code Version} of {@code /version} and the {@code ServerVersion} of {@code /info}. Clients
     * compare it with Docker's releases (Testcontainers refuses a daemon older than 1.6.0), so
     * Vessel's own 0.1.0 there would be read as an ancient Docker.
     */
    public static final String DOCKER_VERSION = "28.2.0";
    /** The version a request was made under: its path prefix's, or {@link ApiVersion#MAX} without one. */
    public static final ScopedValue<ApiVersion> REQUEST_VERSION = ScopedValue.newInstance();

    private static final Pattern VERSION_PREFIX = Pattern.compile("^/v([0-9][^/]*)(/.*)$");

    private final Engine engine;
    private final Router router = new Router();
    private final Health health;

    /** The routes over {@code engine}; the containers' health checks begin (close them with {@link #close}). */
    public DockerApi(Engine engine) throws IOException {
        this.engine = engine;
        this.health = new Health(engine.containers(), id -> healthCheck(engine, id), (id, state) -> {
            try {
                var in = engine.containers().inspect(id);
                engine.events().publish(Event.now(Event.CONTAINER, "health_status: " + state.status(), id,
                        Map.of("name", in.name(), "image", in.imageName())));
            } catch (IOException removed) {
                // no container, no event
            }
        });
        new SystemRoutes(engine).register(router);
        new ImageRoutes(engine).register(router);
        new BuildRoutes(engine).register(router);
        new VolumeRoutes(engine).register(router);
        new NetworkRoutes(engine).register(router);
        new ContainerRoutes(engine, health).register(router);
        new ArchiveRoutes(engine.containers()).register(router);
        new ExecRoutes(engine).register(router);
        new ContainerFileRoutes(engine).register(router);
    }

    public Engine engine() {
        return engine;
    }

    /** Ends the health checks. */
    public void close() {
        health.close();
    }

    /**
     * A container's health check: its Config.Healthcheck (from the create request, read as Go
     * would) merged over its image's; null when it has none.
     */
    static Health.Check healthCheck(Engine engine, String id) {
        try {
            JsonNode hc = engine.containers().apiConfig(id).get("Config").get("Healthcheck")
                    .goStruct("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries");
            ImageConfig.Healthcheck mine = ImageConfig.Healthcheck.from(hc);
            ImageConfig image = engine.images().store().resolve(engine.containers().inspect(id).image().toString()).config();
            return Health.Check.of(mine, image == null ? null : image.config().healthcheck());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The routes, for other parts of the daemon (containers, exec, networks) to add theirs. */
    public Router router() {
        return router;
    }

    /** The server's handler: strips and checks the version prefix, then routes. */
    public Handler handler() {
        return (HttpRequest request, HttpExchange exchange) -> {
            String path = request.path();
            ApiVersion version = ApiVersion.MAX;
            Matcher m = VERSION_PREFIX.matcher(path);
            if (m.matches()) {
                version = ApiVersion.parse(m.group(1)).check();
                path = m.group(2);
            }
            String routed = path;
            ScopedValue.where(REQUEST_VERSION, version).call(() -> {
                router.route(routed, request, exchange);
                return null;
            });
        };
    }

    /** The version of the request being served. */
    static ApiVersion version() {
        return REQUEST_VERSION.isBound() ? REQUEST_VERSION.get() : ApiVersion.MAX;
    }

    /** Headers on every response, as dockerd sends them. */
    public static Map<String, String> defaultHeaders() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Api-Version", ApiVersion.MAX.toString());
        h.put("Docker-Experimental", "false");
        h.put("Ostype", "linux");
        h.put("Server", "Vessel/" + VERSION + " (linux)");
        return h;
    }

    /** Maps what the engine throws to Docker's status codes. */
    public static ApiException error(Throwable t) {
        return switch (t) {
            case ApiException a -> a;
            case ImageNotFoundException e -> new ApiException(Status.NOT_FOUND, e.getMessage(), e);
            case ImageConflictException e -> new ApiException(Status.CONFLICT, e.getMessage(), e);
            case io.vessel.engine.network.NetworkException e -> NetworkRoutes.error(e);
            case VolumeException e -> new ApiException(switch (e.kind()) {
                case NOT_FOUND -> Status.NOT_FOUND;
                case IN_USE, CONFLICT -> Status.CONFLICT;
                case INVALID -> Status.BAD_REQUEST;
                case IO -> Status.INTERNAL_ERROR;
            }, e.getMessage(), e);
            case RegistryException e -> new ApiException(e.notFound() ? Status.NOT_FOUND
                    : e.unauthorized() ? Status.UNAUTHORIZED : Status.INTERNAL_ERROR, e.getMessage(), e);
            case DockerfileException e -> new ApiException(Status.BAD_REQUEST, e.getMessage(), e);
            case BuildException e -> new ApiException(Status.BAD_REQUEST, e.getMessage(), e);
            case NoSuchFileException e -> new ApiException(Status.NOT_FOUND, "no such file: " + e.getMessage(), e);
            case FileAlreadyExistsException e -> new ApiException(Status.CONFLICT, "already exists: " + e.getMessage(), e);
            case IllegalArgumentException e -> new ApiException(Status.BAD_REQUEST, e.getMessage(), e);
            default -> new ApiException(Status.INTERNAL_ERROR, t.getMessage() == null ? t.toString() : t.getMessage(), t);
        };
    }
}
