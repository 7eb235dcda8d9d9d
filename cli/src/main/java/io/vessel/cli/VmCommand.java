package io.vessel.cli;

import io.vessel.engine.container.Sizes;
import io.vessel.engine.vm.VirtualMachines;
import io.vessel.engine.vm.VmDisk;
import io.vessel.engine.vm.VmNet;
import io.vessel.engine.vm.VmRunRequest;
import io.vessel.engine.vm.VmVsock;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code vessel vm run [--kernel K] [--initrd I] [--cmdline C] [--cpus N] [--memory M]
 * [--disk PATH[,ro]]... [--net tap=NAME[,mac=MAC][,netns=NS][,create[,addr=CIDR]]|none] [--vsock CID[,PATH]] [-i] [-- COMMAND...]}: boots a micro-VM with its serial console on this
 * command's stdout (and stdin with {@code -i}) and exits with the guest's status.
 */
final class VmCommand {
    private static final int DEFAULT_CPUS = 1;
    private static final String DEFAULT_MEMORY = "256m";

    private VmCommand() {
    }

    static int run(Main main, List<String> args) throws UsageError, IOException {
        if (args.isEmpty() || !args.get(0).equals("run")) {
            if (!args.isEmpty() && (args.get(0).equals("--help") || args.get(0).equals("-h"))) {
                main.out().println("Usage:  vessel vm run [OPTIONS] [-- COMMAND [ARG...]]");
                return 0;
            }
            throw new UsageError("\"vessel vm\" has one subcommand: run");
        }
        Flags f = new Flags("vm run", false)
                .value("kernel", (char) 0, "kernel to boot: ELF vmlinux (PVH or 64-bit entry) or bzImage (default: the built guest assets)")
                .value("initrd", (char) 0, "initial ramdisk (default: the built initramfs, with the default kernel)")
                .value("cmdline", (char) 0, "kernel command line (default: \"" + VirtualMachines.DEFAULT_CMDLINE + "\")")
                .value("cpus", (char) 0, "number of vCPUs (default " + DEFAULT_CPUS + ")")
                .value("memory", 'm', "guest RAM, e.g. 256m, 1g (default " + DEFAULT_MEMORY + ")")
                .list("disk", (char) 0, "a raw disk image as virtio-blk, PATH or PATH,ro; the first is the root")
                .value("net", (char) 0, "network: tap=NAME[,mac=MAC][,netns=NS][,create[,addr=CIDR]] (virtio-net on the tap NAME"
                        + " in network namespace NS, a path or an 'ip netns' name; it must exist unless create, which makes it,"
                        + " up with the host address CIDR, for the VM's lifetime) or none (default)")
                .value("vsock", (char) 0, "virtio-vsock: CID[,PATH] (host side on the Unix socket PATH, default "
                        + VmVsock.DEFAULT_DIR + "/vsock-CID.sock)")
                .bool("interactive", 'i', "attach stdin to the guest's console")
                .parse(args.subList(1, args.size()));
        if (f.bool("help")) {
            main.out().println("Usage:  vessel vm run [OPTIONS] [-- COMMAND [ARG...]]\n");
            main.out().print(f.help());
            return 0;
        }
        int cpus;
        try {
            cpus = Integer.parseInt(f.value("cpus", Integer.toString(DEFAULT_CPUS)));
        } catch (NumberFormatException e) {
            throw new UsageError("--cpus \"" + f.value("cpus") + "\": expected a whole number");
        }
        long memory = Sizes.parse("--memory", f.value("memory", DEFAULT_MEMORY));
        List<VmDisk> disks = new ArrayList<>();
        for (String d : f.list("disk")) {
            disks.add(VmDisk.parse(d));
        }
        VmNet net;
        VmVsock vsock;
        try {
            net = f.value("net") == null ? null : VmNet.parse(f.value("net"));
            vsock = f.value("vsock") == null ? null : VmVsock.parse(f.value("vsock"));
        } catch (IllegalArgumentException e) {
            throw new UsageError(e.getMessage());
        }
        VmRunRequest request = new VmRunRequest(path(f.value("kernel")), path(f.value("initrd")), f.value("cmdline"), cpus,
                memory, disks, net, vsock, f.positional());
        try {
            VirtualMachines.Outcome o = VirtualMachines.run(request, f.bool("interactive") ? System.in : null, main.out(),
                    main.err());
            main.out().flush();
            if (o.exitStatus() == VirtualMachines.VMM_FAILED) {
                main.err().println("Error: " + o.description());
            }
            return o.exitStatus();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the VM ran", e);
        }
    }

    private static Path path(String p) {
        return p == null ? null : Path.of(p);
    }
}
