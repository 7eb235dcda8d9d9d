package io.vessel.engine.vm;

import java.nio.file.Path;

/** A raw disk image for a VM, as {@code --disk PATH[,ro]} names it. */
public record VmDisk(Path path, boolean readOnly) {
    /** Parses {@code PATH} or {@code PATH,ro} (also {@code PATH,rw}); anything else after the comma is an error. */
    public static VmDisk parse(String spec) {
        int comma = spec.lastIndexOf(',');
        String path = comma < 0 ? spec : spec.substring(0, comma);
        String option = comma < 0 ? "rw" : spec.substring(comma + 1);
        if (path.isEmpty()) {
            throw new IllegalArgumentException("--disk \"" + spec + "\": no path; expected PATH[,ro]");
        }
        return switch (option) {
            case "ro" -> new VmDisk(Path.of(path), true);
            case "rw" -> new VmDisk(Path.of(path), false);
            default -> throw new IllegalArgumentException("--disk \"" + spec + "\": unknown option \"" + option
                    + "\"; expected PATH[,ro]");
        };
    }
}
