package io.vessel.engine;

import io.vessel.image.Digest;
import io.vessel.image.Reference;
import io.vessel.image.oci.ImageConfig;
import io.vessel.image.store.ImageStore;
import io.vessel.image.store.ImageStore.Image;
import io.vessel.image.store.LayerStore;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code docker history}: an image's build steps, newest first, from its config's history, each
 * step that made a layer paired with that layer (in order, as the spec pairs them) and its size.
 * Only the newest step is named by the image's ID and tags; the steps below are images this store
 * never had on their own, which Docker shows as {@code <missing>}.
 */
public final class ImageHistory {
    /** Docker's ID of a step that is no image of its own. */
    public static final String MISSING = "<missing>";

    /**
     * One row.
     *
     * @param id      the image's ID for the newest step, else {@link #MISSING}
     * @param created null when the config does not say
     * @param size    the bytes of the files of the step's layer; 0 for a step without one
     */
    public record Entry(String id, Instant created, String createdBy, List<String> tags, long size, String comment) {
    }

    private ImageHistory() {
    }

    /**
     * The history of the image {@code what} names (a reference or an ID). An image whose config
     * records no history (an import by another tool) gets one step per layer, as dockerd shows it.
     */
    public static List<Entry> of(ImageStore store, String what) throws IOException {
        Image image = store.resolve(what);
        ImageConfig config = image.config();
        List<ImageConfig.History> steps = new ArrayList<>(config.history());
        if (steps.isEmpty()) {
            for (int i = 0; i < image.chainIds().size(); i++) {
                steps.add(new ImageConfig.History(config.created(), "", null, null, false));
            }
        }
        List<Entry> out = new ArrayList<>();
        int layer = 0;
        for (ImageConfig.History h : steps) {
            long size = 0;
            if (!h.emptyLayer() && layer < image.chainIds().size()) {
                size = layerSize(store.layerStore(), image.chainIds().get(layer));
                layer++;
            }
            out.add(new Entry(MISSING, created(h.created()), h.createdBy() == null ? "" : h.createdBy(), List.of(),
                    size, h.comment() == null ? "" : h.comment()));
        }
        List<Entry> newestFirst = new ArrayList<>(out.reversed());
        if (!newestFirst.isEmpty()) {
            Entry top = newestFirst.getFirst();
            List<String> tags = image.tags().stream().filter(r -> r.tag() != null).map(Reference::familiar).toList();
            newestFirst.set(0, new Entry(image.id().toString(), top.created(), top.createdBy(), tags, top.size(),
                    top.comment()));
        }
        return newestFirst;
    }

    private static Instant created(String text) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The bytes of the regular files of an unpacked layer; 0 for one not unpacked here. */
    static long layerSize(LayerStore layers, Digest chainId) throws IOException {
        var layer = layers.get(chainId);
        return layer.isEmpty() ? 0 : treeSize(layer.get().diff());
    }

    /** The bytes of the regular files under {@code dir}; files removed while walking are skipped. */
    static long treeSize(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        long[] total = {0};
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                if (a.isRegularFile()) {
                    total[0] += a.size();
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path f, IOException e) {
                return FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }
}
