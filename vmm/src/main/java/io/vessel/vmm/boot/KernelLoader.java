package io.vessel.vmm.boot;

import io.vessel.vmm.memory.GuestMemory;
import io.vessel.vmm.memory.GuestMemoryException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Copies an x86-64 kernel into guest memory: an ELF vmlinux (its PT_LOAD segments at their
 * physical addresses; entered through the PVH note when it has one and PVH is wanted, else at
 * {@code e_entry} in long mode) or a bzImage (64-bit boot protocol: the protected-mode part at
 * 1 MiB, entered at its 64-bit entry 0x200 bytes in). Every offset and size read from the file is
 * checked against the file and against guest RAM.
 */
public final class KernelLoader {
    // ELF (System V gABI; x86-64 psABI)
    private static final int ELF_MAGIC = 0x464C457F;           // "\x7fELF" read little-endian
    private static final int ELFCLASS64 = 2, ELFDATA2LSB = 1, EM_X86_64 = 62;
    private static final int EHDR_SIZE = 64, PHDR_SIZE = 56, PT_LOAD = 1, PT_NOTE = 4;
    private static final int MAX_PHDRS = 64;
    /** xen/include/public/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY, in a note named "Xen". */
    private static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;
    // bzImage setup header (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header")
    private static final int SETUP_SECTS = 0x1F1, BOOT_FLAG = 0x1FE, HEADER = 0x202, VERSION = 0x206,
            SETUP_HEADER_END_JUMP = 0x201, INITRD_ADDR_MAX = 0x22C, RELOCATABLE = 0x234, XLOADFLAGS = 0x236,
            INIT_SIZE = 0x260;
    private static final int BOOT_FLAG_VALUE = 0xAA55, HDRS = 0x53726448;   // "HdrS"
    private static final int MIN_VERSION = 0x020C;                          // 2.12: xloadflags
    private static final int XLF_KERNEL_64 = 1;
    private static final int SECTOR = 512, DEFAULT_SETUP_SECTS = 4;
    /** The 64-bit entry point's offset in the protected-mode kernel (boot.rst, "64-bit Boot Protocol"). */
    private static final long BZIMAGE_64BIT_ENTRY_OFFSET = 0x200;
    /** The highest initrd address before protocol 2.03 exposed the field; also used for ELF kernels. */
    static final long DEFAULT_INITRD_ADDR_MAX = 0x37FF_FFFFL;
    private static final int SETUP_HEADER_READ = 0x1000;

    private KernelLoader() {
    }

    /** Loads {@code kernel}; {@code preferPvh} picks the PVH entry of an ELF that has one. */
    public static LoadedKernel load(GuestMemory memory, Path kernel, boolean preferPvh) throws BootException {
        try (FileChannel ch = FileChannel.open(kernel, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, SETUP_HEADER_READ)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, head, 0);
            head.flip();
            if (head.limit() >= 4 && head.getInt(0) == ELF_MAGIC) {
                return loadElf(memory, kernel, ch, head, size, preferPvh);
            }
            if (head.limit() >= HEADER + 4 && head.getInt(HEADER) == HDRS) {
                return loadBzImage(memory, kernel, ch, head, size);
            }
            throw new BootException("kernel " + kernel + " is neither an ELF vmlinux nor a bzImage (no ELF magic, no \"HdrS\" at 0x202)");
        } catch (NoSuchFileException e) {
            throw new BootException("kernel " + kernel + " does not exist");
        } catch (GuestMemoryException e) {
            throw new BootException("kernel " + kernel + " does not fit in guest memory of " + (memory.size() >> 20)
                    + " MiB: " + e.getMessage() + "; give the VM more memory", e);
        } catch (IOException e) {
            if (e instanceof BootException b) {
                throw b;
            }
            throw new BootException("kernel " + kernel + ": " + e.getMessage(), e);
        }
    }

    private static LoadedKernel loadElf(GuestMemory memory, Path kernel, FileChannel ch, ByteBuffer h, long size,
                                        boolean preferPvh) throws IOException {
        String what = "ELF kernel " + kernel;
        if (h.limit() < EHDR_SIZE || h.get(4) != ELFCLASS64 || h.get(5) != ELFDATA2LSB
                || Short.toUnsignedInt(h.getShort(18)) != EM_X86_64) {
            throw new BootException(what + " is not a little-endian 64-bit x86-64 ELF");
        }
        long entry = h.getLong(24);
        long phoff = h.getLong(32);
        int phentsize = Short.toUnsignedInt(h.getShort(54));
        int phnum = Short.toUnsignedInt(h.getShort(56));
        if (phentsize != PHDR_SIZE || phnum == 0 || phnum > MAX_PHDRS || phoff < 0
                || phoff + (long) phnum * PHDR_SIZE > size) {
            throw new BootException(what + " is corrupt: program headers (offset " + phoff + ", " + phnum
                    + " of " + phentsize + " bytes) are not inside its " + size + " bytes");
        }
        ByteBuffer ph = ByteBuffer.allocate(phnum * PHDR_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, ph, phoff);
        long end = 0;
        Long pvhEntry = null;
        int loads = 0;
        for (int i = 0; i < phnum; i++) {
            int o = i * PHDR_SIZE;
            int type = ph.getInt(o);
            long offset = ph.getLong(o + 8), paddr = ph.getLong(o + 24), filesz = ph.getLong(o + 32), memsz = ph.getLong(o + 40);
            if (offset < 0 || filesz < 0 || offset + filesz > size || offset + filesz < 0) {
                throw new BootException(what + " is corrupt: segment " + i + " (offset " + offset + ", " + filesz
                        + " bytes) lies outside the " + size + "-byte file");
            }
            if (type == PT_LOAD) {
                if (memsz < filesz) {
                    throw new BootException(what + " is corrupt: segment " + i + " has memsz " + memsz + " < filesz " + filesz);
                }
                if (paddr < Layout.HIMEM_START) {
                    throw new BootException(what + ": segment " + i + " loads at 0x" + Long.toHexString(paddr)
                            + ", below 1 MiB where the boot structures live");
                }
                if (!memory.isRam(paddr, memsz)) {
                    throw new BootException(what + ": segment " + i + " [0x" + Long.toHexString(paddr) + ", +" + memsz
                            + ") is not in guest RAM of " + (memory.size() >> 20) + " MiB; give the VM more memory");
                }
                ByteBuffer dst = memory.slice(paddr, memsz).asByteBuffer();
                dst.limit((int) filesz);
                readFully(ch, dst, offset);
                memory.slice(paddr + filesz, memsz - filesz).fill((byte) 0);
                end = Math.max(end, paddr + memsz);
                loads++;
            } else if (type == PT_NOTE && pvhEntry == null) {
                pvhEntry = pvhNote(ch, offset, filesz, what);
            }
        }
        if (loads == 0) {
            throw new BootException(what + " has no PT_LOAD segment");
        }
        if (preferPvh && pvhEntry != null) {
            return new LoadedKernel(EntryMode.PVH, pvhEntry, end, DEFAULT_INITRD_ADDR_MAX, null);
        }
        return new LoadedKernel(EntryMode.LINUX_64, entry, end, DEFAULT_INITRD_ADDR_MAX, null);
    }

    /** The value of XEN_ELFNOTE_PHYS32_ENTRY in the note segment at {@code offset}, or null. */
    private static Long pvhNote(FileChannel ch, long offset, long length, String what) throws IOException {
        if (length > 1 << 20) {
            throw new BootException(what + " is corrupt: a " + length + "-byte note segment");
        }
        ByteBuffer n = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, n, offset);
        int p = 0;
        while (p + 12 <= length) {
            long namesz = Integer.toUnsignedLong(n.getInt(p)), descsz = Integer.toUnsignedLong(n.getInt(p + 4));
            int type = n.getInt(p + 8);
            long name = p + 12, desc = name + align4(namesz), next = desc + align4(descsz);
            if (next > length) {
                throw new BootException(what + " is corrupt: a note at offset " + (offset + p) + " runs past its segment");
            }
            if (namesz == 4 && n.getInt((int) name) == 0x006E6558 /* "Xen\0" */ && type == XEN_ELFNOTE_PHYS32_ENTRY) {
                if (descsz == 4) {
                    return Integer.toUnsignedLong(n.getInt((int) desc));
                }
                if (descsz == 8) {
                    return n.getLong((int) desc);
                }
                throw new BootException(what + " is corrupt: its PVH entry note has " + descsz + " bytes, not 4 or 8");
            }
            p = (int) next;
        }
        return null;
    }

    private static long align4(long v) {
        return (v + 3) & ~3L;
    }

    private static LoadedKernel loadBzImage(GuestMemory memory, Path kernel, FileChannel ch, ByteBuffer h, long size)
            throws IOException {
        String what = "bzImage " + kernel;
        if (h.limit() < INIT_SIZE + 4) {
            throw new BootException(what + " is truncated: " + size + " bytes, shorter than a setup header");
        }
        if (Short.toUnsignedInt(h.getShort(BOOT_FLAG)) != BOOT_FLAG_VALUE) {
            throw new BootException(what + " is corrupt: boot_flag is not 0xAA55");
        }
        int version = Short.toUnsignedInt(h.getShort(VERSION));
        if (version < MIN_VERSION) {
            throw new BootException(what + " speaks boot protocol " + (version >> 8) + "." + (version & 0xFF)
                    + "; the 64-bit entry needs 2.12 or later");
        }
        int xloadflags = Short.toUnsignedInt(h.getShort(XLOADFLAGS));
        if ((xloadflags & XLF_KERNEL_64) == 0) {
            throw new BootException(what + " has no 64-bit entry point (XLF_KERNEL_64 clear in xloadflags)");
        }
        if (h.get(RELOCATABLE) == 0) {
            throw new BootException(what + " is not relocatable; this loader places kernels at 1 MiB");
        }
        int setupSects = Byte.toUnsignedInt(h.get(SETUP_SECTS));
        if (setupSects == 0) {
            setupSects = DEFAULT_SETUP_SECTS;
        }
        long kernelOffset = (setupSects + 1L) * SECTOR;
        if (kernelOffset >= size) {
            throw new BootException(what + " is truncated: its protected-mode part would start at " + kernelOffset
                    + ", past the file's " + size + " bytes");
        }
        long kernelSize = size - kernelOffset;
        long initSize = Integer.toUnsignedLong(h.getInt(INIT_SIZE));
        long needed = Math.max(kernelSize, initSize);
        long load = Layout.HIMEM_START;
        if (!memory.isRam(load, needed)) {
            throw new BootException(what + " needs " + (needed >> 20) + " MiB from 1 MiB to decompress (init_size), more than the "
                    + (memory.size() >> 20) + " MiB of guest RAM; give the VM more memory");
        }
        readFully(ch, memory.slice(load, kernelSize).asByteBuffer(), kernelOffset);
        int headerEnd = HEADER + Byte.toUnsignedInt(h.get(SETUP_HEADER_END_JUMP));
        byte[] setupHeader = new byte[headerEnd - SETUP_SECTS];
        h.get(SETUP_SECTS, setupHeader);
        long initrdMax = Integer.toUnsignedLong(h.getInt(INITRD_ADDR_MAX));
        return new LoadedKernel(EntryMode.LINUX_64, load + BZIMAGE_64BIT_ENTRY_OFFSET, load + needed,
                initrdMax == 0 ? DEFAULT_INITRD_ADDR_MAX : initrdMax, setupHeader);
    }

    private static void readFully(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        long p = position;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, p);
            if (n < 0) {
                throw new BootException("unexpected end of file at byte " + p);
            }
            p += n;
        }
    }
}
