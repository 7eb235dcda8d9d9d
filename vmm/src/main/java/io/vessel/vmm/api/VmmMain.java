package io.vessel.vmm.api;

import io.vessel.linux.ErrnoException;
import io.vessel.linux.Terminal;
import io.vessel.vmm.Trace;
import io.vessel.vmm.VmExit;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * {@code vessel-vmm --api-sock PATH [--id ID] [--config-file FILE] [--no-api]}: a VMM process
 * driven through Firecracker's control API on a Unix socket, or started at once from a
 * Firecracker-style configuration file (then, with {@code --no-api}, without a socket). The guest's
 * console is this process's stdout. The process lives until its
 * VM ends (or it is signalled), and exits with the VM's outcome: the guest's status for a
 * debug-port exit, 0 for power-off or reset, 1 for a crash.
 */
public final class VmmMain {
    static final String USAGE = "usage: vessel-vmm (--api-sock PATH | --no-api --config-file FILE) [--config-file FILE] [--id ID]";
    /** Firecracker's default instance id. */
    static final String DEFAULT_ID = "anonymous-instance";

    private VmmMain() {
    }

    public static void main(String[] args) throws Exception {
        Trace.mark("main");
        Path socket = null;
        Path configFile = null;
        boolean noApi = false;
        String id = DEFAULT_ID;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if ((a.equals("--api-sock") || a.equals("--id") || a.equals("--config-file")) && i + 1 == args.length) {
                fail(a + " needs a value");
            }
            switch (a) {
                case "--api-sock" -> socket = Path.of(args[++i]);
                case "--id" -> id = args[++i];
                case "--config-file" -> configFile = Path.of(args[++i]);
                case "--no-api" -> noApi = true;
                case "-h", "--help" -> {
                    System.out.println(USAGE);
                    return;
                }
                default -> fail("unknown option " + a);
            }
        }
        if (noApi ? socket != null || configFile == null : socket == null) {
            fail(noApi ? "--no-api needs --config-file and no --api-sock" : "--api-sock is required (or --no-api --config-file)");
        }
        CompletableFuture<VmExit> ended = new CompletableFuture<>();
        // The guest's serial console reads this process's stdin, as Firecracker's does; a terminal
        // is put in raw mode (every key, ^C included, goes to the guest) until the process ends.
        Terminal.Saved terminal = rawTerminal();
        MicroVm vm = new MicroVm(id, System.out, System.in, System.err, ended::complete);
        FirecrackerApi api = new FirecrackerApi(vm);
        UnixHttpServer server = null;
        if (!noApi) {
            try {
                server = UnixHttpServer.start(socket, api::handle);
            } catch (java.io.IOException e) {
                fail(e.getMessage());
                return;
            }
        }
        UnixHttpServer listening = server;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (listening != null) {
                listening.close();
            }
            vm.close();
            if (terminal != null) {
                try {
                    terminal.close();
                } catch (ErrnoException e) {
                    System.err.println("vessel-vmm: the terminal's settings could not be restored: " + e.getMessage());
                }
            }
        }, "vessel-vmm-shutdown"));
        Trace.mark("VMM and API objects made");
        if (configFile != null) {
            try {
                api.applyConfigFile(configFile.toString(), java.nio.file.Files.readString(configFile));
            } catch (ApiException | java.io.IOException e) {
                fail(configFile + ": " + e.getMessage());
            }
        }
        Trace.mark("configuration applied, VM running");
        VmExit exit = ended.join();
        Trace.mark("VM ended, exiting");
        System.out.flush();
        System.exit(status(exit));
    }

    /** Raw mode on stdin when it is a terminal, with what restores it; null otherwise. */
    private static Terminal.Saved rawTerminal() {
        if (!Terminal.isTerminal(0)) {
            return null;
        }
        try {
            return Terminal.makeRaw(0);
        } catch (ErrnoException e) {
            System.err.println("vessel-vmm: stdin is a terminal but cannot be put in raw mode: " + e.getMessage());
            return null;
        }
    }

    static int status(VmExit exit) {
        return switch (exit) {
            case VmExit.GuestExit g -> g.status();
            case VmExit.PoweredOff p -> 0;
            case VmExit.Reset r -> 0;
            case VmExit.Stopped s -> 0;
            case VmExit.Crashed c -> 1;
        };
    }

    private static void fail(String message) {
        System.err.println("vessel-vmm: " + message);
        System.err.println(USAGE);
        System.exit(2);
    }
}
