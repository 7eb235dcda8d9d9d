package io.vessel.vmm.devices.legacy;

import io.vessel.vmm.VmExit;
import io.vessel.vmm.acpi.AcpiSleepControl;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The i8042's keyboard as a driver probes it, Ctrl-Alt-Del in both scancode sets, and the ACPI sleep port. */
class KeyboardAndPowerOffTest {
    private final List<VmExit> exits = new ArrayList<>();
    private final AtomicInteger irqs = new AtomicInteger();
    private final I8042 i8042 = new I8042(exits::add, irqs::incrementAndGet);

    private void command(int v) {
        i8042.write(4, new byte[] {(byte) v});
    }

    private void data(int v) {
        i8042.write(0, new byte[] {(byte) v});
    }

    private List<Integer> drain() {
        List<Integer> out = new ArrayList<>();
        byte[] b = new byte[1];
        while (true) {
            i8042.read(4, b);
            if ((b[0] & 1) == 0) {
                return out;
            }
            i8042.read(0, b);
            out.add(b[0] & 0xFF);
        }
    }

    @Test
    void keyboardAnswersResetAndIdentifyAndRaisesIrq1OnlyWhenEnabled() {
        data(0xFF);
        assertEquals(List.of(0xFA, 0xAA), drain());
        assertEquals(0, irqs.get(), "keyboard interrupts are off until the command byte enables them");
        command(0x60);
        data(0x01);
        data(0xF2);
        assertEquals(List.of(0xFA, 0xAB, 0x83), drain());
        assertTrue(irqs.get() >= 1);
    }

    @Test
    void ctrlAltDelIsSet2RawAndSet1WhenTranslated() {
        assertTrue(i8042.sendCtrlAltDel());
        assertEquals(List.of(0x14, 0x11, 0xE0, 0x71), drain());
        command(0x60);
        data(0x41);   // keyboard interrupt + translation
        assertTrue(i8042.sendCtrlAltDel());
        assertEquals(List.of(0x1D, 0x38, 0xE0, 0x53), drain());
        for (int i = 0; i < 4; i++) {
            assertTrue(i8042.sendCtrlAltDel());
        }
        assertFalse(i8042.sendCtrlAltDel(), "a guest that does not read the keyboard fills its buffer");
        assertTrue(exits.isEmpty());
    }

    @Test
    void clearingTheResetBitOfTheOutputPortResets() {
        command(0xD1);
        data(0x03); // reset line high: nothing happens
        assertTrue(exits.isEmpty());
        command(0xD0);
        assertEquals(List.of(0x03), drain(), "the output port reads back what was written");
        command(0xD1);
        data(0x02);
        assertEquals(List.of(new VmExit.Reset()), exits);
    }

    @Test
    void onlyS5OnTheSleepPortPowersOff() {
        AcpiPowerOff port = new AcpiPowerOff(exits::add);
        port.write(0, new byte[] {(byte) AcpiSleepControl.WAKE_STATUS});
        port.write(0, new byte[] {(byte) ((3 << 2) | AcpiSleepControl.SLEEP_ENABLE)});
        assertTrue(exits.isEmpty(), "WAK_STS and S3 do not end the VM");
        port.write(0, new byte[] {(byte) AcpiSleepControl.powerOffValue()});
        assertEquals(List.of(new VmExit.PoweredOff()), exits);
    }
}
