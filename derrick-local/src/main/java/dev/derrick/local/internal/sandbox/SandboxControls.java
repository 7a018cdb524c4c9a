package dev.derrick.local.internal.sandbox;

import dev.derrick.api.DerrickException;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.limits.ResourceLimits;
import dev.derrick.local.internal.limits.ResourceControl;
import dev.derrick.local.internal.limits.WorkspaceCgroup;
import dev.derrick.local.internal.net.UserModeNetwork;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The network and resource limits of a provider's sandboxes (one per provider, installed whenever isolation is
 * {@code sandbox}).
 *
 * <p><b>Network</b>, per phase from the config's {@code network} field: a phase that is off gets a network namespace of
 * its own ({@code --unshare-net}) with nothing but loopback. A phase that is on gets its own namespace too, with a
 * user-mode stack ({@link UserModeNetwork}: slirp4netns with {@code --disable-host-loopback}) attached to the holder
 * and ended with it, and an {@code /etc/resolv.conf} naming slirp4netns's DNS forwarder. Nothing bound to the host's
 * loopback (the derrick API, git servers, databases on 127.0.0.1) is reachable, unless the operator sets
 * {@code network_host_loopback} (then the gateway 10.0.2.2 is the host's 127.0.0.1). Without slirp4netns, on-phases
 * share the host's network ({@code isolation=auto}: one WARN at start, and {@link #describe(WorkspaceConfig)} says
 * so) or the provider does not start ({@code isolation=sandbox}).
 *
 * <p><b>Limits</b> ({@code memory}, {@code cpus}, {@code pids}): each sandbox gets cgroups of its own (every
 * controller {@link ResourceControl} found usable), named {@code <workspace id>-<phase>-<n>}; its holder and every
 * command join them before they run anything, so a limit covers all processes of the sandbox together. Where no
 * cgroup is usable, {@code prlimit} stands in per process (memory as address space; pids as RLIMIT_NPROC of the
 * dedicated sandbox uid), else the limit is not enforced — and the start-up WARN and {@code info()} say which.
 * The cgroups go when the holder stops; {@link #reapOrphan(String)} and {@link #reapEmpty()} remove what a crash left.
 */
public final class SandboxControls implements SandboxExtension.Factory, AutoCloseable {
    /** The names of the cgroups this class makes: anything else is left alone. */
    static final Pattern CGROUP_NAME = Pattern.compile("(local-[0-9a-f]{12})-(setup|commands)-[0-9]+");
    private static final Logger LOG = LoggerFactory.getLogger(SandboxControls.class);
    private static final String RESOLV_CONF = "nameserver " + UserModeNetwork.DNS + "\n";

    private final boolean slirp;
    private final boolean rootProvider;
    private final SandboxSupport support;
    private final boolean hostLoopback;
    private final String hostNetworkWhy;
    private final ResourceControl limits;
    private final List<String> resolvMounts;
    private final AtomicLong sequence = new AtomicLong();
    private volatile dev.derrick.local.internal.limits.Cgroups reapable;
    private final Set<Controls> live = ConcurrentHashMap.newKeySet();

    SandboxControls(boolean slirp, String hostNetworkWhy, boolean hostLoopback, ResourceControl limits,
                    List<String> resolvMounts, SandboxSupport support) {
        this.support = support;
        this.rootProvider = support.root();
        this.slirp = slirp;
        this.hostNetworkWhy = hostNetworkWhy;
        this.hostLoopback = hostLoopback;
        this.limits = limits;
        this.resolvMounts = List.copyOf(resolvMounts);
    }

    /**
     * Finds what this machine offers and logs what it cannot enforce.
     *
     * @param hostLoopback    whether on-phases may reach the host's 127.0.0.1 through the gateway 10.0.2.2
     * @param requireSlirp    fail without slirp4netns (isolation {@code sandbox}) instead of sharing the host's network
     * @throws DerrickException without slirp4netns when {@code requireSlirp}
     */
    public static SandboxControls start(SandboxSupport support, ResourceLimits limits, boolean hostLoopback,
                                        boolean requireSlirp) {
        return start(support, ResourceControl.detect(limits, support.root()), hostLoopback, requireSlirp,
                UserModeNetwork.executable().isPresent());
    }

    /** With a given resource control and slirp4netns availability (tests force the fall-backs through this). */
    public static SandboxControls start(SandboxSupport support, ResourceControl limits, boolean hostLoopback,
                                        boolean requireSlirp, boolean slirpInstalled) {
        String why = null;
        if (!slirpInstalled) {
            why = "slirp4netns is not installed (apt-get install slirp4netns)";
            if (requireSlirp) {
                throw new DerrickException("the local provider cannot start with isolation=sandbox: network \"on\" needs "
                        + why + " to keep the host's loopback out of reach; install it, or use isolation=auto (on-phases"
                        + " then share the host's network)");
            }
            LOG.warn("local sandboxes: {}: workspace phases with network \"on\" share the host's network, and commands"
                    + " can reach everything bound to the host's loopback (the derrick API, git servers) and its"
                    + " abstract unix sockets; phases with network \"off\" still get loopback only", why);
        }
        List<String> mounts = List.of();
        if (slirpInstalled) {
            mounts = resolvMounts(resolvConf(support), Path.of("/etc/resolv.conf"));
        }
        limits.warnIfWeak();
        SandboxControls controls = new SandboxControls(slirpInstalled, why, hostLoopback, limits, mounts,
                support);
        LOG.info("local sandboxes: network on = {}; limits {}", controls.onText(), limits.limits());
        return controls;
    }

    /** The file bound over {@code /etc/resolv.conf} in on-phases (world-readable: bubblewrap opens it as the sandbox user). */
    private static Path resolvConf(SandboxSupport support) {
        List<Path> dirs = new ArrayList<>();
        if (support.root()) {
            dirs.add(Path.of("/run/derrick-net"));
        }
        dirs.add(Path.of(System.getProperty("java.io.tmpdir"), "derrick-net-" + support.uid()));
        IOException last = null;
        for (Path dir : dirs) {
            try {
                if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(dir);
                }
                Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(support.root() ? "rwx--x--x" : "rwxr-xr-x"));
                Path file = dir.resolve("resolv.conf");
                if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)
                        && Files.readString(file, StandardCharsets.US_ASCII).equals(RESOLV_CONF)) {
                    return file;
                }
                Path tmp = Files.createTempFile(dir, "resolv", ".tmp");
                Files.writeString(tmp, RESOLV_CONF, StandardCharsets.US_ASCII);
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r--r--r--"));
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return file;
            } catch (IOException | UnsupportedOperationException e) {
                last = e instanceof IOException io ? io : new IOException(e);
            }
        }
        throw new DerrickException("cannot write the sandboxes' resolv.conf: " + last.getMessage(), last);
    }

    /**
     * bubblewrap arguments binding {@code file} where the sandbox reads {@code /etc/resolv.conf}: over it, or — when
     * the host's is a symbolic link (systemd-resolved: {@code /run/systemd/resolve/stub-resolv.conf}) — at its target,
     * on a tmpfs {@code /run} when the target is there ({@code /run} is not the host's inside a sandbox anyway).
     */
    static List<String> resolvMounts(Path file, Path hostResolvConf) {
        if (!Files.isSymbolicLink(hostResolvConf)) {
            return List.of("--ro-bind", file.toString(), "/etc/resolv.conf");
        }
        Path target = hostResolvConf;
        try {
            for (int i = 0; i < 16 && Files.isSymbolicLink(target); i++) {
                target = target.getParent().resolve(Files.readSymbolicLink(target)).normalize();
            }
        } catch (IOException e) {
            target = null;
        }
        if (target != null && (target.startsWith("/etc") || target.startsWith("/usr")) && Files.isRegularFile(target)) {
            return List.of("--ro-bind", file.toString(), target.toString());
        }
        if (target != null && target.startsWith("/run") && !target.equals(Path.of("/run"))) {
            return List.of("--tmpfs", "/run", "--ro-bind", file.toString(), target.toString());
        }
        LOG.warn("local sandboxes: /etc/resolv.conf is a link to {}, which a sandbox cannot show: name resolution in"
                + " phases with network \"on\" uses no resolver", target);
        return List.of();
    }

    @Override
    public SandboxExtension create(String workspaceId, WorkspaceConfig config, Sandbox.Phase phase) {
        boolean network = config.network().allows(phase == Sandbox.Phase.SETUP ? NetworkPolicy.Phase.SETUP
                : NetworkPolicy.Phase.COMMANDS);
        return new Controls(workspaceId, phase, network);
    }

    @Override
    public String describe(WorkspaceConfig config) {
        NetworkPolicy n = config.network();
        StringBuilder s = new StringBuilder("network ");
        if (n.uniform()) {
            s.append(phaseText(n.setup()));
        } else {
            s.append("setup ").append(phaseText(n.setup())).append(", commands ").append(phaseText(n.commands()));
        }
        Map<String, String> enforcement = limits.enforcement();
        if (!enforcement.isEmpty()) {
            s.append("; limits ").append(limits.limits()).append(": ");
            List<String> parts = new ArrayList<>();
            enforcement.forEach((limit, how) -> parts.add(limit + " " + how));
            s.append(String.join("; ", parts));
        }
        return s.toString();
    }

    private String phaseText(boolean on) {
        return on ? "on (" + onText() + ")" : "off (own network namespace, loopback only)";
    }

    private String onText() {
        if (!slirp) {
            return "the host's network: " + hostNetworkWhy + "; the host's loopback is reachable";
        }
        return "slirp4netns user-mode network, host loopback " + (hostLoopback
                ? "reachable at " + UserModeNetwork.GATEWAY + " (network_host_loopback)" : "unreachable");
    }

    /** Per limit set, how it is enforced (see {@link ResourceControl#enforcement()}). */
    public Map<String, String> enforcement() {
        return limits.enforcement();
    }

    /** How limits are enforced here. */
    public ResourceControl resourceControl() {
        return limits;
    }

    /** Whether on-phases get slirp4netns (else the host's network). */
    public boolean userModeNetwork() {
        return slirp;
    }

    /**
     * The cgroups to look for leftovers in: those limits use, or — a provider without limits may follow one with
     * limits that crashed — the machine's (root only).
     */
    private dev.derrick.local.internal.limits.Cgroups reapable() {
        var c = reapable;
        if (c == null) {
            c = !limits.limits().isEmpty() || !rootProvider ? limits.cgroups()
                    : dev.derrick.local.internal.limits.Cgroups.detect();
            reapable = c;
        }
        return c;
    }

    /** For the reaper: ends and removes the cgroups a workspace of a provider that is gone left. */
    public void reapOrphan(String workspaceId) {
        var cgroups = reapable();
        for (String name : cgroups.existing(n -> {
            var m = CGROUP_NAME.matcher(n);
            return m.matches() && m.group(1).equals(workspaceId);
        })) {
            LOG.info("removing cgroup {} of workspace {} of a provider that is gone", name, workspaceId);
            cgroups.destroy(name);
        }
    }

    /** For the reaper: removes empty sandbox cgroups older than a minute (see {@code limits.Cgroups.reapEmpty}). */
    public List<String> reapEmpty() {
        return reapable().reapEmpty(java.time.Duration.ofMinutes(1), n -> CGROUP_NAME.matcher(n).matches());
    }

    /** Ends what is left (slirp4netns, cgroups) of sandboxes still running: the provider closes. */
    @Override
    public void close() {
        for (Controls c : List.copyOf(live)) {
            c.release();
        }
    }

    /** What one sandbox gets. */
    final class Controls implements SandboxExtension {
        private final String workspaceId;
        private final Sandbox.Phase phase;
        private final boolean network;
        private ResourceControl.WorkspaceLimits current;
        private List<Path> procs = List.of();
        private UserModeNetwork stack;
        private boolean holderUp;

        Controls(String workspaceId, Sandbox.Phase phase, boolean network) {
            this.workspaceId = workspaceId;
            this.phase = phase;
            this.network = network;
        }

        @Override
        public List<String> holderArgs(Sandbox.Phase p) {
            return network && !slirp ? List.of() : List.of("--unshare-net");
        }

        @Override
        public List<String> holderMounts(Sandbox.Phase p) {
            return network && slirp ? resolvMounts : List.of();
        }

        @Override
        public synchronized List<Path> cgroupProcs(Sandbox.Phase p) {
            if (current == null) {
                // first call of a holder's start: the sandbox's cgroups, fresh for each holder
                String name = workspaceId + "-" + phase.name().toLowerCase(java.util.Locale.ROOT) + "-"
                        + sequence.incrementAndGet();
                current = limits.open(name);
                live.add(this);
                Set<Path> files = new LinkedHashSet<>();
                current.cgroup().map(WorkspaceCgroup::directories).ifPresent(d -> d.values()
                        .forEach(dir -> files.add(dir.resolve("cgroup.procs"))));
                procs = List.copyOf(files);
            }
            return procs;
        }

        /**
         * prlimit on each command's shell while it waits for its first line: its processes inherit the limits. Not on
         * the holder (nothing of the workspace's descends from it). prlimit runs as the sandbox user: lowering the
         * limits of a process of one's own uid needs no privilege (root may lack CAP_SYS_RESOURCE, e.g. in a VM).
         */
        @Override
        public void entered(long pid, Sandbox.Phase p) throws IOException {
            ResourceControl.WorkspaceLimits l;
            boolean command;
            synchronized (this) {
                l = current;
                command = holderUp;
            }
            if (l == null || l.prlimitArgs().isEmpty() || !command) {
                return;
            }
            awaitUid(pid);
            List<String> args = new ArrayList<>(support.root() ? support.dropToSandboxUser() : List.of());
            args.addAll(List.of(ResourceControl.WorkspaceLimits.prlimit().toString(), "--pid", Long.toString(pid)));
            args.addAll(l.prlimitArgs());
            ProcessBuilder pb = new ProcessBuilder(args).redirectErrorStream(true);
            pb.environment().clear();
            Process prlimit = pb.start();
            try {
                String out = new String(prlimit.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (!prlimit.waitFor(10, TimeUnit.SECONDS) || prlimit.exitValue() != 0) {
                    prlimit.destroyForcibly();
                    throw new IOException("prlimit " + String.join(" ", l.prlimitArgs()) + " on process " + pid
                            + " failed: " + out);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                prlimit.destroyForcibly();
                throw new IOException("interrupted while setting resource limits");
            }
        }

        /** Until nsenter's child has become the sandbox user (it forks first, then changes its ids). */
        private void awaitUid(long pid) throws IOException {
            String want = "Uid:\t" + support.uid() + "\t" + support.uid() + "\t" + support.uid() + "\t" + support.uid();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (System.nanoTime() < deadline) {
                String status;
                try {
                    status = Files.readString(Path.of("/proc/" + pid + "/status"), StandardCharsets.ISO_8859_1);
                } catch (IOException e) {
                    throw new IOException("process " + pid + " ended before its limits were set");
                }
                if (status.contains(want)) {
                    return;
                }
                Thread.onSpinWait();
            }
            throw new IOException("process " + pid + " did not become uid " + support.uid() + " within 5 s");
        }

        @Override
        public AutoCloseable holderStarted(long holderPid, Sandbox.Phase p) {
            synchronized (this) {
                holderUp = true;
            }
            if (!network || !slirp) {
                return () -> { };
            }
            UserModeNetwork net = UserModeNetwork.attach(holderPid, hostLoopback);
            synchronized (this) {
                stack = net;
                live.add(this);
            }
            return new AutoCloseable() {
                @Override
                public void close() {
                    synchronized (Controls.this) {
                        if (stack == net) {
                            stack = null;
                        }
                    }
                    net.close();
                }

                @Override
                public String toString() {
                    return "slirp4netns " + net.pid();
                }
            };
        }

        @Override
        public void holderStopped(Sandbox.Phase p) {
            release();
        }

        /** Ends the stack (if still there) and the cgroups of the current holder. */
        void release() {
            UserModeNetwork net;
            ResourceControl.WorkspaceLimits l;
            synchronized (this) {
                net = stack;
                l = current;
                holderUp = false;
                stack = null;
                current = null;
                procs = List.of();
                live.remove(this);
            }
            if (net != null) {
                net.close();
            }
            if (l != null) {
                l.close();
            }
        }

        @Override
        public Map<String, String> describe() {
            Map<String, String> d = new LinkedHashMap<>();
            d.put("network", network ? "on" : "off");
            d.putAll(limits.enforcement());
            return d;
        }

        @Override
        public String toString() {
            return "SandboxControls[" + workspaceId + ", " + phase + ", network " + (network ? "on" : "off") + "]";
        }
    }
}
