package io.vessel.vmm.devices.virtio;

import io.vessel.vmm.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transport's protocol rules and the queue's validation of hostile driver values, through virtio-rng. */
class MmioTransportTest {
    static final long V1 = Features.bit(Features.VERSION_1);
    static final long RING = Features.bit(Features.INDIRECT_DESC) | Features.bit(Features.EVENT_IDX);

    GuestMemory memory;
    MmioTransport transport;
    TestDriver driver;
    AtomicInteger interrupts = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        memory = GuestMemory.x86(4 << 20);
        transport = new MmioTransport(new RngDevice(), memory, interrupts::incrementAndGet);
        driver = new TestDriver(transport, memory, interrupts, 0x10000);
    }

    @AfterEach
    void tearDown() {
        memory.close();
    }

    TestDriver.Queue started(long features) {
        assertTrue(driver.negotiate(features));
        TestDriver.Queue q = driver.queue(0, 16, features);
        driver.driverOk();
        return q;
    }

    void assertNeedsReset(String reasonPart) {
        assertNotEquals(0, driver.reg(MmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET");
        assertNotEquals(0, driver.reg(MmioTransport.INTERRUPT_STATUS) & MmioTransport.INT_CONFIG_CHANGE);
        assertTrue(transport.needsResetReason().orElseThrow().contains(reasonPart),
                transport.needsResetReason().orElseThrow());
    }

    @Test
    void rngFillsBuffers() {
        TestDriver.Queue q = started(V1 | RING);
        assertEquals(RngDevice.DEVICE_TYPE, driver.reg(MmioTransport.DEVICE_ID));
        long a = driver.alloc(64, 8);
        long b = driver.alloc(64, 8);
        q.post(List.of(), List.of(new TestDriver.Buf(a, 64)), false);
        q.post(List.of(), List.of(new TestDriver.Buf(b, 32), new TestDriver.Buf(b + 32, 32)), true);
        q.kick();
        List<TestDriver.Used> used = q.collect();
        assertEquals(2, used.size());
        assertEquals(64, used.get(0).length());
        assertEquals(64, used.get(1).length());
        assertFalse(java.util.Arrays.equals(memory.read(a, 64), memory.read(b, 64)));
        assertFalse(java.util.Arrays.equals(new byte[64], memory.read(a, 64)));
        assertEquals(1, interrupts.get());
    }

    @Test
    void featuresOkNeedsVersion1AndOnlyOfferedBits() {
        assertFalse(driver.negotiate(0), "a legacy driver (no VERSION_1) is refused");
        assertFalse(driver.negotiate(V1 | Features.bit(3)), "a bit the device did not offer is refused");
        assertTrue(driver.negotiate(V1));
        assertEquals(V1, transport.negotiatedFeatures());
    }

    @Test
    void outOfOrderStatusWritesAreIgnoredAndZeroResets() {
        driver.setReg(MmioTransport.STATUS, DeviceStatus.DRIVER_OK);
        assertEquals(0, driver.reg(MmioTransport.STATUS));
        driver.setReg(MmioTransport.STATUS, DeviceStatus.ACKNOWLEDGE);
        driver.setReg(MmioTransport.STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.DRIVER_OK);
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER, driver.reg(MmioTransport.STATUS),
                "DRIVER_OK before FEATURES_OK does not stick");
        TestDriver.Queue q = started(V1);
        driver.setReg(MmioTransport.STATUS, 0);
        assertEquals(0, driver.reg(MmioTransport.STATUS));
        driver.setReg(MmioTransport.QUEUE_SEL, 0);
        assertEquals(0, driver.reg(MmioTransport.QUEUE_READY));
        q.post(List.of(), List.of(new TestDriver.Buf(0x200000, 8)), false);
        q.kick();
        assertEquals(0, memory.readU16(q.used + 2), "a reset device serves nothing");
    }

    @Test
    void queueRegistersOutsideTheSetupPhaseAreIgnored() {
        driver.setReg(MmioTransport.QUEUE_SEL, 0);
        driver.setReg(MmioTransport.QUEUE_NUM, 8);
        driver.setReg(MmioTransport.QUEUE_READY, 1);
        assertEquals(0, driver.reg(MmioTransport.QUEUE_READY));
        driver.setReg(MmioTransport.QUEUE_SEL, 5);
        assertEquals(0, driver.reg(MmioTransport.QUEUE_NUM_MAX), "no queue 5");
        driver.setReg(MmioTransport.QUEUE_SEL, 0);
        assertEquals(RngDevice.QUEUE_SIZE, driver.reg(MmioTransport.QUEUE_NUM_MAX));
    }

    @Test
    void queueSizeNotAPowerOfTwoNeedsReset() {
        assertTrue(driver.negotiate(V1));
        driver.setReg(MmioTransport.QUEUE_SEL, 0);
        driver.setReg(MmioTransport.QUEUE_NUM, 12);
        driver.setReg(MmioTransport.QUEUE_DESC_LOW, 0x10000);
        driver.setReg(MmioTransport.QUEUE_DRIVER_LOW, 0x11000);
        driver.setReg(MmioTransport.QUEUE_DEVICE_LOW, 0x12000);
        driver.setReg(MmioTransport.QUEUE_READY, 1);
        assertNeedsReset("not a power of two");
        assertTrue(driver.negotiate(V1), "a reset clears DEVICE_NEEDS_RESET");
        assertEquals(0, driver.reg(MmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
    }

    @Test
    void ringsOutsideRamOrMisalignedNeedReset() {
        assertTrue(driver.negotiate(V1));
        driver.setReg(MmioTransport.QUEUE_SEL, 0);
        driver.setReg(MmioTransport.QUEUE_NUM, 16);
        driver.setReg(MmioTransport.QUEUE_DESC_LOW, 0x10008);
        driver.setReg(MmioTransport.QUEUE_DRIVER_LOW, 0x11000);
        driver.setReg(MmioTransport.QUEUE_DEVICE_LOW, 0x12000);
        driver.setReg(MmioTransport.QUEUE_READY, 1);
        assertNeedsReset("not 16-byte aligned");

        assertTrue(driver.negotiate(V1));
        driver.setReg(MmioTransport.QUEUE_NUM, 16);
        driver.setReg(MmioTransport.QUEUE_DESC_LOW, 0x10000);
        driver.setReg(MmioTransport.QUEUE_DRIVER_LOW, 0x11000);
        driver.setReg(MmioTransport.QUEUE_DEVICE_LOW, (4 << 20) - 8); // runs off the end of RAM
        driver.setReg(MmioTransport.QUEUE_READY, 1);
        assertNeedsReset("not in guest RAM");

        assertTrue(driver.negotiate(V1));
        driver.setReg(MmioTransport.QUEUE_NUM, 16);
        driver.setReg(MmioTransport.QUEUE_DESC_LOW, 0x10000);
        driver.setReg(MmioTransport.QUEUE_DESC_HIGH, 0x1); // 4 GiB + 64 KiB: no RAM there
        driver.setReg(MmioTransport.QUEUE_DRIVER_LOW, 0x11000);
        driver.setReg(MmioTransport.QUEUE_DEVICE_LOW, 0x12000);
        driver.setReg(MmioTransport.QUEUE_READY, 1);
        assertNeedsReset("not in guest RAM");
    }

    @Test
    void availableIndexRunningAheadNeedsReset() {
        TestDriver.Queue q = started(V1);
        memory.writeU16(q.avail + 2, 17); // 17 new entries in a queue of 16
        driver.setReg(MmioTransport.QUEUE_NOTIFY, 0);
        assertNeedsReset("more than the queue size");
    }

    @Test
    void headOutsideTheTableNeedsReset() {
        TestDriver.Queue q = started(V1);
        memory.writeU16(q.avail + 4, 16);
        memory.writeU16(q.avail + 2, 1);
        driver.setReg(MmioTransport.QUEUE_NOTIFY, 0);
        assertNeedsReset("outside a queue of 16");
    }

    @Test
    void descriptorLoopNeedsReset() {
        TestDriver.Queue q = started(V1);
        q.writeDescriptor(q.desc, 0, 0x200000, 8, Descriptor.F_NEXT | Descriptor.F_WRITE, 1);
        q.writeDescriptor(q.desc, 1, 0x200008, 8, Descriptor.F_NEXT | Descriptor.F_WRITE, 0);
        memory.writeU16(q.avail + 4, 0);
        memory.writeU16(q.avail + 2, 1);
        driver.setReg(MmioTransport.QUEUE_NOTIFY, 0);
        assertNeedsReset("a loop?");
    }

    @Test
    void nextIndexOutsideTheTableNeedsReset() {
        TestDriver.Queue q = started(V1);
        q.writeDescriptor(q.desc, 0, 0x200000, 8, Descriptor.F_NEXT | Descriptor.F_WRITE, 40);
        memory.writeU16(q.avail + 4, 0);
        memory.writeU16(q.avail + 2, 1);
        driver.setReg(MmioTransport.QUEUE_NOTIFY, 0);
        assertNeedsReset("descriptor index 40");
    }

    @Test
    void bufferOutsideRamNeedsReset() {
        TestDriver.Queue q = started(V1);
        q.post(List.of(), List.of(new TestDriver.Buf((4 << 20) - 4, 8)), false);
        q.kick();
        assertNeedsReset("not in guest RAM");
        assertEquals(0, memory.readU16(q.used + 2), "nothing returned from a broken ring");
    }

    @Test
    void indirectWithoutTheFeatureNeedsReset() {
        TestDriver.Queue q = started(V1);
        q.post(List.of(), List.of(new TestDriver.Buf(0x200000, 8)), true);
        q.kick();
        assertNeedsReset("VIRTIO_F_INDIRECT_DESC was not negotiated");
    }

    @Test
    void nestedIndirectNeedsReset() {
        TestDriver.Queue q = started(V1 | RING);
        long inner = driver.alloc(16, 16);
        long outer = driver.alloc(16, 16);
        q.writeDescriptor(inner, 0, 0x200000, 8, Descriptor.F_WRITE, 0);
        q.writeDescriptor(outer, 0, inner, 16, Descriptor.F_INDIRECT, 0);
        q.writeDescriptor(q.desc, 0, outer, 16, Descriptor.F_INDIRECT, 0);
        memory.writeU16(q.avail + 4, 0);
        memory.writeU16(q.avail + 2, 1);
        driver.setReg(MmioTransport.QUEUE_NOTIFY, 0);
        assertNeedsReset("another indirect");
    }

    @Test
    void indirectTableOfBadLengthNeedsReset() {
        TestDriver.Queue q = started(V1 | RING);
        q.writeDescriptor(q.desc, 0, driver.alloc(64, 16), 24, Descriptor.F_INDIRECT, 0);
        memory.writeU16(q.avail + 4, 0);
        memory.writeU16(q.avail + 2, 1);
        driver.setReg(MmioTransport.QUEUE_NOTIFY, 0);
        assertNeedsReset("not a multiple of 16");
    }

    @Test
    void readableAfterWritableNeedsReset() {
        TestDriver.Queue q = started(V1);
        q.writeDescriptor(q.desc, 0, 0x200000, 8, Descriptor.F_NEXT | Descriptor.F_WRITE, 1);
        q.writeDescriptor(q.desc, 1, 0x200008, 8, 0, 0);
        memory.writeU16(q.avail + 4, 0);
        memory.writeU16(q.avail + 2, 1);
        driver.setReg(MmioTransport.QUEUE_NOTIFY, 0);
        assertNeedsReset("follows a device-writable");
    }

    @Test
    void oddRegisterAccessesReadZeroAndChangeNothing() {
        byte[] two = {1, 1};
        transport.read(MmioTransport.MAGIC_VALUE, two);
        assertEquals(0, two[0]);
        transport.write(MmioTransport.STATUS, new byte[] {1});
        transport.write(-4, new byte[4]);
        transport.write(0x42, new byte[4]);
        transport.read(0x41, new byte[4]);
        assertEquals(0, driver.reg(MmioTransport.STATUS));
        assertEquals(MmioTransport.MAGIC, driver.reg(MmioTransport.MAGIC_VALUE));
    }

    @Test
    void needEventFollowsTheSpecFormula() {
        assertTrue(Virtqueue.needEvent(0, 1, 0));
        assertFalse(Virtqueue.needEvent(1, 1, 0));
        assertTrue(Virtqueue.needEvent(5, 10, 3));
        assertFalse(Virtqueue.needEvent(10, 10, 3));
        assertTrue(Virtqueue.needEvent(0xFFFF, 2, 0xFFFE), "across the 16-bit wrap");
    }
}
