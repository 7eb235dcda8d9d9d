package io.vessel.vmm.kvm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct kvm_sregs}: segment registers, descriptor tables, control registers, EFER and the
 * APIC base. Read it from the vCPU, change what a boot mode needs with the withers, write it back.
 */
public record Sregs(Segment cs, Segment ds, Segment es, Segment fs, Segment gs, Segment ss, Segment tr, Segment ldt,
                    long gdtBase, int gdtLimit, long idtBase, int idtLimit,
                    long cr0, long cr2, long cr3, long cr4, long cr8, long efer, long apicBase, long[] interruptBitmap) {
    // offsets in struct kvm_sregs (x86-64): 8 segments of 24 bytes, 2 dtables of 16, then the registers
    private static final long GDT = 192, IDT = 208, CR0 = 224, BITMAP = 280;
    private static final int BITMAP_WORDS = 4;

    /** Every data segment register (ds, es, fs, gs, ss) loaded with {@code data}, cs with {@code code}. */
    public Sregs withSegments(Segment code, Segment data, Segment taskRegister) {
        return new Sregs(code, data, data, data, data, data, taskRegister, ldt, gdtBase, gdtLimit, idtBase, idtLimit,
                cr0, cr2, cr3, cr4, cr8, efer, apicBase, interruptBitmap);
    }

    public Sregs withTables(long gdtBase, int gdtLimit, long idtBase, int idtLimit) {
        return new Sregs(cs, ds, es, fs, gs, ss, tr, ldt, gdtBase, gdtLimit, idtBase, idtLimit,
                cr0, cr2, cr3, cr4, cr8, efer, apicBase, interruptBitmap);
    }

    public Sregs withControl(long cr0, long cr3, long cr4, long efer) {
        return new Sregs(cs, ds, es, fs, gs, ss, tr, ldt, gdtBase, gdtLimit, idtBase, idtLimit,
                cr0, cr2, cr3, cr4, cr8, efer, apicBase, interruptBitmap);
    }

    static Sregs read(MemorySegment m) {
        Segment[] s = new Segment[8];
        for (int i = 0; i < 8; i++) {
            s[i] = Segment.read(m, i * (long) Segment.SIZE);
        }
        long[] bitmap = new long[BITMAP_WORDS];
        for (int i = 0; i < BITMAP_WORDS; i++) {
            bitmap[i] = m.get(ValueLayout.JAVA_LONG, BITMAP + i * 8L);
        }
        long[] c = new long[7];
        for (int i = 0; i < 7; i++) {
            c[i] = m.get(ValueLayout.JAVA_LONG, CR0 + i * 8L);
        }
        return new Sregs(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
                m.get(ValueLayout.JAVA_LONG, GDT), Short.toUnsignedInt(m.get(ValueLayout.JAVA_SHORT, GDT + 8)),
                m.get(ValueLayout.JAVA_LONG, IDT), Short.toUnsignedInt(m.get(ValueLayout.JAVA_SHORT, IDT + 8)),
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], bitmap);
    }

    void write(MemorySegment m) {
        Segment[] s = {cs, ds, es, fs, gs, ss, tr, ldt};
        for (int i = 0; i < 8; i++) {
            s[i].write(m, i * (long) Segment.SIZE);
        }
        m.set(ValueLayout.JAVA_LONG, GDT, gdtBase);
        m.set(ValueLayout.JAVA_SHORT, GDT + 8, (short) gdtLimit);
        m.set(ValueLayout.JAVA_LONG, IDT, idtBase);
        m.set(ValueLayout.JAVA_SHORT, IDT + 8, (short) idtLimit);
        long[] c = {cr0, cr2, cr3, cr4, cr8, efer, apicBase};
        for (int i = 0; i < 7; i++) {
            m.set(ValueLayout.JAVA_LONG, CR0 + i * 8L, c[i]);
        }
        for (int i = 0; i < BITMAP_WORDS; i++) {
            m.set(ValueLayout.JAVA_LONG, BITMAP + i * 8L, interruptBitmap[i]);
        }
    }
}
