package io.vessel.vmm.boot;

import io.vessel.vmm.memory.GuestMemory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Lays out a guest for the x86-64 boot protocols: the kernel ({@link KernelLoader}), the initrd as
 * high as the kernel allows, the command line, and either PVH's hvm_start_info with its memory map
 * and module list or the zero page (boot_params) with its E820 table; plus the GDT and the
 * identity page tables that {@link X86Cpu} points the boot vCPU at.
 */
public final class LinuxBoot {
    // struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h)
    private static final int HVM_START_MAGIC = 0x336EC578, HVM_START_VERSION = 1;
    private static final int HVM_MODLIST_ENTRY_SIZE = 32, HVM_MEMMAP_ENTRY_SIZE = 24;
    // struct boot_params offsets (arch/x86/include/uapi/asm/bootparam.h)
    /** boot_params.acpi_rsdp_addr (boot protocol 2.14): where the kernel takes the RSDP from, before any scan. */
    private static final int BP_ACPI_RSDP_ADDR = 0x070;
    private static final int BP_EXT_RAMDISK_IMAGE = 0xC0, BP_EXT_RAMDISK_SIZE = 0xC4, BP_EXT_CMD_LINE_PTR = 0xC8,
            BP_E820_ENTRIES = 0x1E8, BP_SETUP_HEADER = 0x1F1, BP_BOOT_FLAG = 0x1FE, BP_HEADER = 0x202,
            BP_VERSION = 0x206, BP_TYPE_OF_LOADER = 0x210, BP_LOADFLAGS = 0x211, BP_RAMDISK_IMAGE = 0x218,
            BP_RAMDISK_SIZE = 0x21C, BP_CMD_LINE_PTR = 0x228, BP_KERNEL_ALIGNMENT = 0x230, BP_CMDLINE_SIZE = 0x238,
            BP_E820_TABLE = 0x2D0, BOOT_PARAMS_SIZE = 0x1000;
    private static final int E820_ENTRY_SIZE = 20;
    /** type_of_loader 0xFF: "undefined" boot loader (boot.rst). */
    private static final int LOADER_UNDEFINED = 0xFF;
    private static final int LOADED_HIGH = 0x01;
    /** Header values an ELF kernel's zero page needs, as if it had a 2.12 setup header. */
    private static final int HDRS = 0x53726448, BOOT_FLAG_VALUE = 0xAA55, PROTOCOL_2_12 = 0x020C;
    private static final int ELF_KERNEL_ALIGNMENT = 0x100_0000;
    private static final long PAGE = 4096, HUGE_PAGE = 2L << 20;
    // page table entry bits (Intel SDM vol. 3, 4.5): present, writable, page size
    private static final long PTE_PRESENT = 1, PTE_WRITABLE = 2, PTE_PS = 0x80;

    private LinuxBoot() {
    }

    public static BootPlan prepare(GuestMemory memory, BootSource source) throws BootException {
        return prepare(memory, source, List.of());
    }

    /**
     * As {@link #prepare(GuestMemory, BootSource)}, with each of {@code reserved} (e.g. the ACPI
     * tables' range) marked reserved in the memory map the guest is given. The RSDP address of
     * {@code source} goes to the guest in hvm_start_info.rsdp_paddr (PVH) or
     * boot_params.acpi_rsdp_addr (64-bit entry).
     */
    public static BootPlan prepare(GuestMemory memory, BootSource source, List<E820Entry> reserved) throws BootException {
        byte[] cmdline = source.cmdline().getBytes(StandardCharsets.UTF_8);
        if (cmdline.length + 1 > Layout.CMDLINE_MAX_SIZE) {
            throw new BootException("kernel command line is " + cmdline.length + " bytes; at most "
                    + (Layout.CMDLINE_MAX_SIZE - 1) + " fit");
        }
        if (!memory.isRam(0, Layout.HIMEM_START)) {
            throw new BootException("guest memory of " + memory.size() + " bytes is too small: the first MiB alone holds the boot structures");
        }
        LoadedKernel kernel = KernelLoader.load(memory, source.kernel(), source.preferPvh());
        long[] initrd = loadInitrd(memory, source, kernel);
        memory.slice(Layout.CMDLINE, Layout.CMDLINE_MAX_SIZE).fill((byte) 0);
        memory.write(Layout.CMDLINE, cmdline);
        List<E820Entry> e820 = E820Entry.of(memory);
        for (E820Entry r : reserved) {
            e820 = E820Entry.reserve(e820, r.address(), r.end());
        }
        if (e820.size() > Layout.E820_MAX_ENTRIES) {
            throw new BootException("the memory map has " + e820.size() + " entries; the boot protocols carry at most "
                    + Layout.E820_MAX_ENTRIES);
        }
        long bootInfo = switch (kernel.mode()) {
            case PVH -> writeStartInfo(memory, source, e820, initrd);
            case LINUX_64 -> writeZeroPage(memory, kernel, cmdline.length + 1, e820, initrd, source.rsdp());
        };
        writeGdt(memory, kernel.mode());
        if (kernel.mode() == EntryMode.LINUX_64) {
            writePageTables(memory);
        }
        return new BootPlan(kernel.mode(), kernel.entry(), bootInfo, e820, initrd[0], initrd[1]);
    }

    /** Copies the initrd as high as possible below RAM's end and initrd_addr_max; {address, size}, {0, 0} without one. */
    private static long[] loadInitrd(GuestMemory memory, BootSource source, LoadedKernel kernel) throws BootException {
        if (source.initrd() == null) {
            return new long[] {0, 0};
        }
        try (FileChannel ch = FileChannel.open(source.initrd(), StandardOpenOption.READ)) {
            long size = ch.size();
            long lowRamEnd = memory.regions().getFirst().end();
            long top = Math.min(lowRamEnd, kernel.initrdAddrMax() + 1);
            long address = (top - size) & -PAGE;
            if (size > top || address < kernel.end()) {
                throw new BootException("initrd " + source.initrd() + " is too big: " + size + " bytes do not fit between the kernel's end (0x"
                        + Long.toHexString(kernel.end()) + ") and 0x" + Long.toHexString(top) + "; give the VM more memory");
            }
            MemorySegment dst = memory.slice(address, size);
            var buf = dst.asByteBuffer();
            long p = 0;
            while (buf.hasRemaining()) {
                int n = ch.read(buf, p);
                if (n < 0) {
                    throw new BootException("initrd " + source.initrd() + " shrank while being read");
                }
                p += n;
            }
            return new long[] {address, size};
        } catch (NoSuchFileException e) {
            throw new BootException("initrd " + source.initrd() + " does not exist");
        } catch (IOException e) {
            if (e instanceof BootException b) {
                throw b;
            }
            throw new BootException("initrd " + source.initrd() + ": " + e.getMessage(), e);
        }
    }

    private static long writeStartInfo(GuestMemory memory, BootSource source, List<E820Entry> e820, long[] initrd) {
        long info = Layout.PVH_START_INFO;
        memory.slice(info, Layout.PVH_MEMMAP + (long) Layout.E820_MAX_ENTRIES * HVM_MEMMAP_ENTRY_SIZE - info).fill((byte) 0);
        memory.writeU32(info, HVM_START_MAGIC);
        memory.writeU32(info + 4, HVM_START_VERSION);
        if (initrd[1] > 0) {
            memory.writeU32(info + 12, 1);                          // nr_modules
            memory.writeU64(info + 16, Layout.PVH_MODLIST);         // modlist_paddr
            memory.writeU64(Layout.PVH_MODLIST, initrd[0]);
            memory.writeU64(Layout.PVH_MODLIST + 8, initrd[1]);
        }
        memory.writeU64(info + 24, Layout.CMDLINE);                 // cmdline_paddr
        memory.writeU64(info + 32, source.rsdp());                  // rsdp_paddr
        memory.writeU64(info + 40, Layout.PVH_MEMMAP);              // memmap_paddr
        memory.writeU32(info + 48, e820.size());                    // memmap_entries
        for (int i = 0; i < e820.size(); i++) {
            long o = Layout.PVH_MEMMAP + (long) i * HVM_MEMMAP_ENTRY_SIZE;
            memory.writeU64(o, e820.get(i).address());
            memory.writeU64(o + 8, e820.get(i).size());
            memory.writeU32(o + 16, e820.get(i).type());
        }
        return info;
    }

    private static long writeZeroPage(GuestMemory memory, LoadedKernel kernel, int cmdlineSize, List<E820Entry> e820,
                                      long[] initrd, long rsdp) {
        long zp = Layout.ZERO_PAGE;
        memory.slice(zp, BOOT_PARAMS_SIZE).fill((byte) 0);
        if (kernel.setupHeader() != null) {
            memory.write(zp + BP_SETUP_HEADER, kernel.setupHeader());
        } else {
            memory.writeU16(zp + BP_BOOT_FLAG, BOOT_FLAG_VALUE);
            memory.writeU32(zp + BP_HEADER, HDRS);
            memory.writeU16(zp + BP_VERSION, PROTOCOL_2_12);
            memory.writeU32(zp + BP_KERNEL_ALIGNMENT, ELF_KERNEL_ALIGNMENT);
        }
        memory.writeU8(zp + BP_TYPE_OF_LOADER, LOADER_UNDEFINED);
        memory.writeU8(zp + BP_LOADFLAGS, memory.readU8(zp + BP_LOADFLAGS) | LOADED_HIGH);
        memory.writeU32(zp + BP_CMD_LINE_PTR, (int) Layout.CMDLINE);
        memory.writeU32(zp + BP_EXT_CMD_LINE_PTR, (int) (Layout.CMDLINE >>> 32));
        memory.writeU32(zp + BP_CMDLINE_SIZE, cmdlineSize);
        memory.writeU32(zp + BP_RAMDISK_IMAGE, (int) initrd[0]);
        memory.writeU32(zp + BP_EXT_RAMDISK_IMAGE, (int) (initrd[0] >>> 32));
        memory.writeU32(zp + BP_RAMDISK_SIZE, (int) initrd[1]);
        memory.writeU32(zp + BP_EXT_RAMDISK_SIZE, (int) (initrd[1] >>> 32));
        memory.writeU64(zp + BP_ACPI_RSDP_ADDR, rsdp);
        memory.writeU8(zp + BP_E820_ENTRIES, e820.size());
        for (int i = 0; i < e820.size(); i++) {
            long o = zp + BP_E820_TABLE + (long) i * E820_ENTRY_SIZE;
            memory.writeU64(o, e820.get(i).address());
            memory.writeU64(o + 8, e820.get(i).size());
            memory.writeU32(o + 16, e820.get(i).type());
        }
        return zp;
    }

    private static void writeGdt(GuestMemory memory, EntryMode mode) {
        long[] gdt = X86Cpu.gdt(mode);
        for (int i = 0; i < gdt.length; i++) {
            memory.writeU64(Layout.GDT + i * 8L, gdt[i]);
        }
        memory.writeU64(Layout.IDT, 0);
    }

    /** PML4[0] → PDPT; PDPT[0..3] → four PDs of 512 2-MiB pages each: the first 4 GiB identity-mapped. */
    private static void writePageTables(GuestMemory memory) {
        memory.slice(Layout.PML4, PAGE * (2 + Layout.PD_PAGES)).fill((byte) 0);
        memory.writeU64(Layout.PML4, Layout.PDPT | PTE_PRESENT | PTE_WRITABLE);
        for (int i = 0; i < Layout.PD_PAGES; i++) {
            long pd = Layout.PD + i * PAGE;
            memory.writeU64(Layout.PDPT + i * 8L, pd | PTE_PRESENT | PTE_WRITABLE);
            for (int j = 0; j < 512; j++) {
                long address = ((long) i * 512 + j) * HUGE_PAGE;
                memory.writeU64(pd + j * 8L, address | PTE_PRESENT | PTE_WRITABLE | PTE_PS);
            }
        }
    }
}
