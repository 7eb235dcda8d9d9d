package io.vessel.vmm.guest;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The guest assets that {@code make guest-assets} builds into build/guest: Debian's kernel as
 * bzImage and as the ELF vmlinux cut out of it, and the initramfs. Building them downloads the
 * kernel package, which tests do not do; without them these tests skip and say how to build them.
 */
class GuestAssetsTest {
    /** XEN_ELFNOTE_PHYS32_ENTRY (include/xen/interface/elfnote.h): the PVH 32-bit entry point. */
    static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    static final int PT_LOAD = 1;
    static final int PT_NOTE = 4;
    static final int EM_X86_64 = 62;
    /** Linux's pvh_start_xen (arch/x86/platform/pvh/head.S) begins with CLD. */
    static final int CLD = 0xFC;

    static Path guest;

    @BeforeAll
    static void needsAssets() {
        guest = RepositoryPaths.guestAssets();
        assumeTrue(Files.isRegularFile(guest.resolve("SHA256SUMS")),
                "no guest assets in " + guest + ": run `make guest-assets` (downloads Debian's kernel package)");
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void checksumsMatch() throws Exception {
        for (String line : Files.readAllLines(guest.resolve("SHA256SUMS"))) {
            String[] f = line.split("\\s+", 2);
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(guest.resolve(f[1])));
            assertEquals(f[0], HexFormat.of().formatHex(digest), f[1]);
        }
    }

    @Test
    void bzImageHasA64BitRelocatableSetupHeader() throws IOException {
        byte[] b = Files.readAllBytes(guest.resolve("vmlinuz"));
        ByteBuffer h = le(b);
        assertEquals(0xAA55, h.getShort(0x1FE) & 0xFFFF, "boot sector signature");
        assertEquals("HdrS", new String(b, 0x202, 4, StandardCharsets.US_ASCII));
        assertTrue((h.getShort(0x206) & 0xFFFF) >= 0x20C, "boot protocol 2.12 or later");
        assertEquals(1, b[0x234], "relocatable_kernel");
        assertTrue((h.getShort(0x236) & 1) != 0, "XLF_KERNEL_64");
    }

    @Test
    void vmlinuxIsAnElfWithAPvhEntry() throws IOException {
        byte[] b = Files.readAllBytes(guest.resolve("vmlinux"));
        ByteBuffer e = le(b);
        assertEquals(0x7F454C46, ByteBuffer.wrap(b).getInt(0), "ELF magic");
        assertEquals(2, b[4], "64-bit");
        assertEquals(2, e.getShort(16), "ET_EXEC");
        assertEquals(EM_X86_64, e.getShort(18));
        long physicalStart = Long.decode(config("CONFIG_PHYSICAL_START"));
        assertEquals(physicalStart, e.getLong(24), "e_entry is the kernel's physical load address");
        long shEnd = e.getLong(0x28) + (long) (e.getShort(0x3A) & 0xFFFF) * (e.getShort(0x3C) & 0xFFFF);
        assertEquals(shEnd, b.length, "the file ends with the ELF (the bzImage's relocations are cut off)");

        long phoff = e.getLong(0x20);
        int phentsize = e.getShort(0x36) & 0xFFFF;
        int phnum = e.getShort(0x38) & 0xFFFF;
        Long pvhEntry = null;
        List<long[]> loads = new ArrayList<>(); // paddr, offset, filesz
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            int type = e.getInt(ph);
            long offset = e.getLong(ph + 8);
            long paddr = e.getLong(ph + 24);
            long filesz = e.getLong(ph + 32);
            if (type == PT_LOAD) {
                loads.add(new long[] {paddr, offset, filesz});
            } else if (type == PT_NOTE) {
                for (int n = (int) offset; n < offset + filesz; ) {
                    int namesz = e.getInt(n);
                    int descsz = e.getInt(n + 4);
                    int ntype = e.getInt(n + 8);
                    String name = new String(b, n + 12, Math.max(0, namesz - 1), StandardCharsets.US_ASCII);
                    int desc = n + 12 + align4(namesz);
                    if (name.equals("Xen") && ntype == XEN_ELFNOTE_PHYS32_ENTRY) {
                        pvhEntry = descsz == 8 ? e.getLong(desc) : e.getInt(desc) & 0xFFFF_FFFFL;
                    }
                    n = desc + align4(descsz);
                }
            }
        }
        assertNotNull(pvhEntry, "a Xen ELF note of type 18 (PVH entry)");
        long entry = pvhEntry;
        long[] seg = loads.stream().filter(l -> entry >= l[0] && entry < l[0] + l[2]).findFirst()
                .orElseThrow(() -> new AssertionError("PVH entry 0x" + Long.toHexString(entry) + " is in no loaded segment"));
        assertEquals(physicalStart, loads.getFirst()[0], "the first segment loads at the physical start");
        assertTrue(entry < 1L << 32, "a 32-bit entry");
        assertEquals(CLD, b[(int) (seg[1] + entry - seg[0])] & 0xFF, "pvh_start_xen's first instruction");
    }

    @Test
    void initramfsHoldsInitBusyboxAndTheVirtioModulesInDependencyOrder() throws Exception {
        Map<String, Entry> cpio = readCpio(guest.resolve("initramfs.cpio.gz"));
        String kver = Files.readString(guest.resolve("kernel.release")).strip();
        Entry init = cpio.get("init");
        assertNotNull(init, "/init");
        assertEquals(0100755, init.mode(), "/init is an executable file");
        assertTrue(new String(init.data(), StandardCharsets.US_ASCII).startsWith("#!/bin/sh\n"));
        assertEquals(0100755, cpio.get("bin/busybox").mode() & 0170777);
        assertEquals("/bin/busybox", new String(cpio.get("bin/sh").data(), StandardCharsets.US_ASCII), "sh links to busybox");
        for (String applet : List.of("bin/mount", "sbin/insmod", "usr/sbin/chroot", "sbin/poweroff", "bin/sleep")) {
            assertNotNull(cpio.get(applet), applet);
        }
        assertNotNull(cpio.get("bin/vessel-exit"));
        assertEquals(0x7F454C46, ByteBuffer.wrap(cpio.get("bin/busybox").data()).getInt(0));

        List<String> modules = new String(cpio.get("etc/vessel/modules").data(), StandardCharsets.US_ASCII).lines().toList();
        for (String wanted : List.of("virtio_mmio", "virtio_blk", "virtio_net", "virtio-rng", "vmw_vsock_virtio_transport")) {
            assertTrue(modules.stream().anyMatch(m -> m.endsWith("/" + wanted + ".ko")), wanted + " in " + modules);
        }
        List<String> loaded = new ArrayList<>();
        for (String m : modules) {
            Entry ko = cpio.get("lib/modules/" + kver + "/" + m);
            assertNotNull(ko, m + " in the initramfs");
            Map<String, String> info = modinfo(ko.data());
            assertTrue(info.get("vermagic").startsWith(kver + " "), m + " is built for " + kver + ": " + info.get("vermagic"));
            for (String dep : info.getOrDefault("depends", "").split(",")) {
                if (!dep.isEmpty()) {
                    assertTrue(loaded.contains(dep.replace('-', '_')), m + " needs " + dep + ", which must be loaded before it");
                }
            }
            loaded.add(info.get("name").replace('-', '_'));
        }
        // the init script parses
        Path initFile = Files.createTempFile("vessel-init", ".sh");
        try {
            Files.write(initFile, init.data());
            Process p = new ProcessBuilder("/bin/busybox", "sh", "-n", initFile.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
        } finally {
            Files.deleteIfExists(initFile);
        }
    }

    private static int align4(int n) {
        return (n + 3) & ~3;
    }

    private static String config(String key) throws IOException {
        return Files.readAllLines(guest.resolve("config")).stream().filter(l -> l.startsWith(key + "="))
                .map(l -> l.substring(key.length() + 1)).findFirst()
                .orElseThrow(() -> new AssertionError(key + " not in the kernel config"));
    }

    /** The key=value strings of a module's .modinfo section, found by their NUL-separated shape. */
    private static Map<String, String> modinfo(byte[] ko) {
        Map<String, String> info = new LinkedHashMap<>();
        String all = new String(ko, StandardCharsets.ISO_8859_1);
        for (String key : List.of("vermagic", "name", "depends")) {
            int at = all.indexOf("\0" + key + "=");
            if (at >= 0) {
                int start = at + key.length() + 2;
                info.put(key, all.substring(start, all.indexOf('\0', start)));
            }
        }
        assertTrue(info.containsKey("vermagic") && info.containsKey("name"), "module has a .modinfo");
        return info;
    }

    record Entry(int mode, byte[] data) {
    }

    /** Reads a gzip'd cpio "newc" archive (magic 070701: 13 hex fields, name, data, each 4-byte aligned). */
    static Map<String, Entry> readCpio(Path file) throws IOException {
        byte[] all;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            all = out.toByteArray();
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        int pos = 0;
        while (true) {
            String magic = new String(all, pos, 6, StandardCharsets.US_ASCII);
            assertEquals("070701", magic, "newc header at " + pos);
            int[] f = new int[13];
            for (int i = 0; i < 13; i++) {
                f[i] = (int) Long.parseLong(new String(all, pos + 6 + 8 * i, 8, StandardCharsets.US_ASCII), 16);
            }
            int mode = f[1];
            int filesize = f[6];
            int namesize = f[11];
            String name = new String(all, pos + 110, namesize - 1, StandardCharsets.US_ASCII);
            int data = align4(pos + 110 + namesize);
            if (name.equals("TRAILER!!!")) {
                return entries;
            }
            entries.put(name.startsWith("./") ? name.substring(2) : name,
                    new Entry(mode, java.util.Arrays.copyOfRange(all, data, data + filesize)));
            pos = align4(data + filesize);
        }
    }
}
