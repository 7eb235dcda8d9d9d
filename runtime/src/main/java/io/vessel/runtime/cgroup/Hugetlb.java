package io.vessel.runtime.cgroup;

import io.vessel.runtime.spec.Resources;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The hugetlb controller: one limit per page size, {@code hugetlb.2MB.limit_in_bytes} on v1 and
 * {@code hugetlb.2MB.max} on v2.
 */
record Hugetlb(String limitSuffix) implements Controller {
    static final Hugetlb V1 = new Hugetlb(".limit_in_bytes");
    static final Hugetlb V2 = new Hugetlb(".max");
    /** Where the kernel lists the huge page sizes it supports, as hugepages-2048kB and the like. */
    static final Path SIZES = Path.of("/sys/kernel/mm/hugepages");
    private static final Pattern PAGE_SIZE = Pattern.compile("[0-9]+[KMG]B");
    private static final long KB_PER_MB = 1024, KB_PER_GB = 1024 * 1024;

    @Override
    public String name() {
        return "hugetlb";
    }

    @Override
    public boolean wants(Resources r) {
        return r.hugepageLimits() != null && !r.hugepageLimits().isEmpty();
    }

    @Override
    public void apply(CgroupDir dir, Resources r) throws CgroupException {
        for (Resources.HugepageLimit l : r.hugepageLimits()) {
            if (!PAGE_SIZE.matcher(l.pageSize()).matches()) {
                throw new CgroupException("cgroup: hugepage size \"" + l.pageSize() + "\" is not like 2MB or 1GB");
            }
            dir.write("hugetlb." + l.pageSize() + limitSuffix, l.limit());
        }
    }

    /** The page sizes this kernel supports, named as the controller's files name them ("2MB", "1GB"). */
    static List<String> pageSizes() {
        List<String> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(SIZES)) {
            for (Path d : dirs.sorted().toList()) {
                String name = d.getFileName().toString(); // hugepages-2048kB
                if (name.startsWith("hugepages-") && name.endsWith("kB")) {
                    out.add(sizeName(Long.parseLong(name.substring("hugepages-".length(), name.length() - 2))));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return List.of();
        }
        return out;
    }

    static String sizeName(long kb) {
        if (kb % KB_PER_GB == 0) {
            return kb / KB_PER_GB + "GB";
        }
        if (kb % KB_PER_MB == 0) {
            return kb / KB_PER_MB + "MB";
        }
        return kb + "KB";
    }
}
