package dev.derrick.local.internal.sandbox;

import dev.derrick.api.DerrickException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The namespaces one local workspace's processes live in, made with bubblewrap, and the way into them.
 *
 * <p>A <b>holder</b> — {@code bwrap … sleep infinity}, started as the sandbox user with an empty environment —
 * owns a user, PID, mount, IPC, UTS and cgroup namespace (plus what a {@link SandboxExtension} adds, e.g. a network
 * namespace). Its mount namespace has the workspace directory as {@code /}, the host's {@code /usr}, {@code /etc}
 * and {@code /bin /sbin /lib*} read-only on top (nosuid, nodev), a fresh {@code /proc} and a minimal {@code /dev};
 * {@code /tmp} and {@code /home/derrick} are directories of the workspace. Nothing else of the host is there: no
 * {@code /sys}, {@code /run}, {@code /home}, {@code /root}, cache or provider directory, nor any other workspace.
 *
 * <p>Every command enters the holder's namespaces ({@code nsenter -a}) as the sandbox user, without the JVM's
 * supplementary groups, with exactly its own environment. With cgroups (root) it is put into a cgroup of its own
 * before it can run anything (it waits for one line on stdin that is written only after the move), so a timeout
 * ends everything it started. The holder dies with the JVM (bubblewrap's {@code --die-with-parent}: the holder is
 * started from one long-lived thread, since the kernel's parent-death signal follows the forking <i>thread</i>), and
 * with the holder the PID namespace and every process in it.
 */
public final class Sandbox implements AutoCloseable {
    /** Which phase a sandbox serves: the network (and other) settings may differ. */
    public enum Phase {
        /** Cache build, setup and update scripts. */
        SETUP,
        /** The workspace's commands and file operations. */
        COMMANDS
    }

    /** The sandbox's home directory ({@code HOME}), inside the workspace. */
    public static final String HOME = "/home/derrick";
    /** The user name commands see. */
    public static final String USER = "derrick";
    /** Scripts longer than this (bytes) are passed on stdin instead of as an argument. */
    static final int ARGUMENT_LIMIT = 64 * 1024;
    /**
     * Environment values longer than this are set by the script as shell variables instead of passed in the
     * environment: the kernel refuses to exec anything with an environment string over 128 KiB, so such a value can
     * only live in the shell (not exported to the programs it starts).
     */
    static final int ENV_VALUE_LIMIT = 100 * 1024;

    private static final Logger LOG = LoggerFactory.getLogger(Sandbox.class);
    private static final Pattern CHILD_PID = Pattern.compile("\"child-pid\"\\s*:\\s*(\\d+)");
    /** Starts holders: the parent-death signal fires when the forking thread ends, so this thread never ends. */
    private static final ExecutorService LAUNCHER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "derrick-sandbox-launcher");
        t.setDaemon(true);
        return t;
    });

    private final SandboxSupport support;
    private final String name;
    private final Path root;
    private final Phase phase;
    private final SandboxExtension extension;
    private final Path cgroup;
    private final AtomicInteger commands = new AtomicInteger();
    private final Set<SandboxProcess> running = ConcurrentHashMap.newKeySet();
    private final Set<Path> lingering = ConcurrentHashMap.newKeySet();
    private volatile Process holder;
    private volatile Path portal;
    private volatile long holderPid;
    private volatile AutoCloseable extensionHandle;
    private volatile boolean closed;

    private Sandbox(SandboxSupport support, String name, Path root, Phase phase, SandboxExtension extension) {
        this.support = support;
        this.name = name;
        this.root = root;
        this.phase = phase;
        this.extension = extension == null ? SandboxExtension.NONE : extension;
        this.cgroup = support.cgroups() == null ? null : support.cgroups().workspace(name);
    }

    /**
     * Starts the sandbox of a workspace directory.
     *
     * @param name a workspace id ({@code local-<12 hex>}, optionally {@code -setup-<8 hex>}): names its cgroup
     * @param root the workspace directory (a real directory the sandbox user can reach); it becomes {@code /}
     */
    public static Sandbox start(SandboxSupport support, String name, Path root, Phase phase, SandboxExtension extension) {
        support.require();
        Sandbox sandbox = new Sandbox(support, name, root, phase, extension);
        sandbox.startHolder();
        return sandbox;
    }

    /** The workspace directory that is {@code /} inside. */
    public Path root() {
        return root;
    }

    public Phase phase() {
        return phase;
    }

    /** Host pid of the holder's process inside the namespaces (what {@code nsenter -t} and slirp4netns take). */
    public long holderPid() {
        return holderPid;
    }

    /** The workspace's cgroup, or {@code null} without cgroups. */
    public Path cgroup() {
        return cgroup;
    }

    public SandboxSupport support() {
        return support;
    }

    // ------------------------------------------------------------------ holder

    private void startHolder() {
        try {
            prepareRoot();
            portal = Portal.open(support, name, root);
            if (cgroup != null) {
                SandboxCgroups.create(cgroup.resolve("holder"));
            }
        } catch (IOException e) {
            throw new DerrickException("cannot prepare the sandbox of " + root + ": " + e.getMessage(), e);
        }
        List<String> command = new ArrayList<>(support.dropToSandboxUser());
        command.addAll(List.of(support.bwrap().toString(), "--args", "0", "--", support.sleep().toString(), "infinity"));
        Process p;
        try {
            p = LAUNCHER.submit(() -> {
                ProcessBuilder pb = new ProcessBuilder(command);
                pb.environment().clear();
                return pb.start();
            }).get();
        } catch (ExecutionException e) {
            throw new DerrickException("cannot start bubblewrap: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while starting the sandbox");
        }
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        Thread errPump = pump(p.getErrorStream(), errors, "derrick-sandbox-holder-stderr");
        try {
            if (cgroup != null) {
                SandboxCgroups.join(cgroup.resolve("holder"), p.pid()); // before bwrap has read its arguments, so before it forks
            }
            for (Path procs : extension.cgroupProcs(phase)) {
                Files.writeString(procs, Long.toString(p.pid()), StandardCharsets.US_ASCII);
            }
            extension.entered(p.pid(), phase);
            try (OutputStream args = p.getOutputStream()) {
                for (String arg : holderArgs()) {
                    args.write(arg.getBytes(StandardCharsets.UTF_8));
                    args.write(0);
                }
            }
            String info = readInfo(p.getInputStream());
            Matcher m = CHILD_PID.matcher(info);
            if (!m.find()) {
                p.waitFor(5, TimeUnit.SECONDS);
                errPump.join(1000);
                throw new DerrickException("the sandbox did not start: " + text(errors, info));
            }
            long inside = Long.parseLong(m.group(1));
            // bwrap reports the pid before its child has finished setting up (uid/gid maps, mounts); it is done
            // once the child has started the holder's command
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!hasChild(inside)) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    p.waitFor(2, TimeUnit.SECONDS);
                    errPump.join(1000);
                    throw new DerrickException("the sandbox did not start: " + text(errors, "its holder did not come up"));
                }
                SandboxCgroups.sleepMillis(1);
            }
            holderPid = inside;
            holder = p;
            extensionHandle = extension.holderStarted(holderPid, phase);
            LOG.debug("sandbox {} ({}) up: holder pid {}", name, phase, holderPid);
        } catch (DerrickException e) {
            stopHolder(p);
            throw e;
        } catch (Exception e) {
            stopHolder(p);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new DerrickException("the sandbox did not start: " + e.getMessage() + " " + text(errors, ""), e);
        }
    }

    /** The holder's bubblewrap arguments (passed on its stdin, so they are not on its command line). */
    private List<String> holderArgs() throws IOException {
        List<String> a = new ArrayList<>(List.of("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup"));
        a.addAll(extension.holderArgs(phase));
        a.addAll(List.of("--die-with-parent", "--info-fd", "1", "--hostname", "derrick", "--bind",
                (portal != null ? portal : root).toString(), "/"));
        for (String dir : SandboxSupport.SYSTEM_DIRS) {
            a.addAll(List.of("--ro-bind", dir, dir));
        }
        for (String link : SandboxSupport.SYSTEM_LINKS) {
            Path host = Path.of(link);
            Path inside = root.resolve(link.substring(1));
            if (Files.isSymbolicLink(host)) {
                if (!Files.exists(inside, LinkOption.NOFOLLOW_LINKS)) {
                    a.addAll(List.of("--symlink", Files.readSymbolicLink(host).toString(), link));
                } else if (Files.isDirectory(inside, LinkOption.NOFOLLOW_LINKS)) {
                    a.addAll(List.of("--ro-bind", host.toRealPath().toString(), link));
                } // a symlink already there: the workspace's own business
            } else if (Files.isDirectory(host)) {
                a.addAll(List.of("--ro-bind", link, link));
            }
        }
        for (Path extra : support.readOnlyPaths()) {
            a.addAll(List.of("--ro-bind-try", extra.toString(), extra.toString()));
        }
        a.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "--dir", "/tmp", "--dir", HOME,
                "--chdir", "/"));
        a.addAll(extension.holderMounts(phase));
        return a;
    }

    /**
     * Before the holder mounts anything: the workspace's mount points must be plain directories (a symlink left
     * there by a command is removed — nothing runs in the workspace now, so this is no race).
     */
    private void prepareRoot() throws IOException {
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(root + " is not a directory");
        }
        List<String> mountPoints = new ArrayList<>(List.of("usr", "etc", "proc", "dev"));
        for (Path extra : support.readOnlyPaths()) {
            mountPoints.add(extra.toString().substring(1));
        }
        for (String point : mountPoints) {
            Path p = root;
            for (String part : point.split("/")) {
                p = p.resolve(part);
                if (Files.isSymbolicLink(p) || (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))) {
                    Files.delete(p);
                    break;
                }
            }
        }
        if (support.root()) {
            Files.setOwner(root, root.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByName(Integer.toString(support.uid())));
            Files.getFileAttributeView(root, java.nio.file.attribute.PosixFileAttributeView.class)
                    .setGroup(root.getFileSystem().getUserPrincipalLookupService()
                            .lookupPrincipalByGroupName(Integer.toString(support.gid())));
        }
    }

    private static String readInfo(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int depth = 0;
        boolean started = false;
        int b;
        while ((b = in.read()) >= 0) {
            out.write(b);
            if (b == '{') {
                depth++;
                started = true;
            } else if (b == '}' && --depth == 0 && started) {
                break;
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private void stopHolder(Process p) {
        if (cgroup != null) {
            SandboxCgroups.killAndRemove(cgroup);
        }
        if (p != null) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        long inside = holderPid;
        if (inside > 0) {
            // the holder's init dies with bwrap (parent-death signal); with it the kernel kills the whole PID namespace
            long deadline = System.nanoTime() + 5_000_000_000L;
            // (an exited init that nobody has reaped yet — a zombie of pid 1, which may reap slowly — is gone)
            while (runningNotZombie(inside) && System.nanoTime() < deadline) {
                SandboxCgroups.sleepMillis(2);
            }
        }
        Path bound = portal;
        portal = null;
        if (bound != null) {
            Portal.close(bound);
        }
        AutoCloseable handle = extensionHandle;
        extensionHandle = null;
        if (handle != null) {
            try {
                handle.close();
            } catch (Exception e) {
                LOG.warn("sandbox {}: stopping {} failed: {}", name, handle, e.getMessage());
            }
        }
        try {
            extension.holderStopped(phase);
        } catch (RuntimeException e) {
            LOG.warn("sandbox {}: releasing {} failed: {}", name, extension, e.getMessage());
        }
    }

    // ------------------------------------------------------------------ commands

    /**
     * Starts a process in the sandbox and returns without waiting for it.
     *
     * @throws DerrickException when the sandbox is closed or the process cannot be started
     */
    public SandboxProcess start(Launch launch) {
        if (closed || holder == null) {
            throw new DerrickException("the sandbox of " + root + " is closed");
        }
        Map<String, String> env = new LinkedHashMap<>(launch.environment());
        StringBuilder body = new StringBuilder();
        for (Map.Entry<String, String> e : launch.environment().entrySet()) {
            if (e.getValue().length() > ENV_VALUE_LIMIT && e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
                env.remove(e.getKey());
                body.append(e.getKey()).append('=').append(quote(e.getValue())).append("; ");
            }
        }
        if (!launch.workingDir().equals("/")) {
            body.append("cd -- ").append(quote(launch.workingDir())).append(" || exit 125; ");
        }
        body.append(launch.script());
        // the shell waits for one line before it runs anything (see the class comment)
        String wait = "IFS= read -r _ || exit 125; ";
        byte[] script = body.toString().getBytes(StandardCharsets.UTF_8);
        boolean onStdin = script.length + wait.length() > ARGUMENT_LIMIT;
        String inline;
        if (!onStdin) {
            inline = wait + body;
        } else {
            // read from the open stdin (re-opening /dev/stdin would be refused: the pipe belongs to root)
            inline = wait + "__derrick_script=$(" + (launch.keepStdinOpen() ? "head -c " + script.length : "cat")
                    + ") || exit 125; eval \"$__derrick_script\"";
        }
        List<String> command = new ArrayList<>();
        Path setsid = support.setsidIfTerminal();
        if (setsid != null) {
            command.add(setsid.toString());
        }
        if (support.needsSetpriv()) {
            command.addAll(List.of(support.setpriv().toString(), "--clear-groups", "--"));
        }
        command.addAll(List.of(support.nsenter().toString(), "-t", Long.toString(holderPid), "-a", "-r", "-w",
                "-S", Integer.toString(support.uid()), "-G", Integer.toString(support.gid()), "--",
                support.shell().toString(), "-c", inline, support.shell().getFileName().toString()));
        command.addAll(launch.args());
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(env);
        Path commandCgroup = null;
        Process p;
        try {
            if (cgroup != null) {
                commandCgroup = SandboxCgroups.create(cgroup.resolve("c" + commands.incrementAndGet()));
            }
            p = pb.start();
        } catch (IOException e) {
            if (commandCgroup != null) {
                SandboxCgroups.removeIfEmpty(commandCgroup);
            }
            throw new DerrickException("cannot start a command in the sandbox: " + e.getMessage(), e);
        }
        SandboxProcess process;
        Thread writer = null;
        long shell = -1;
        try {
            if (commandCgroup != null || extension != SandboxExtension.NONE) {
                shell = findChild(p);
                if (shell > 0) {
                    if (commandCgroup != null) {
                        SandboxCgroups.join(commandCgroup, shell);
                    }
                    for (Path procs : extension.cgroupProcs(phase)) {
                        Files.writeString(procs, Long.toString(shell), StandardCharsets.US_ASCII);
                    }
                    extension.entered(shell, phase);
                }
            }
            OutputStream stdin = p.getOutputStream();
            if (onStdin) {
                writer = new Thread(() -> {
                    try {
                        stdin.write('\n');
                        stdin.write(script);
                        stdin.flush();
                        if (!launch.keepStdinOpen()) {
                            stdin.close();
                        }
                    } catch (IOException e) {
                        // the process is gone: its exit says why
                    }
                }, "derrick-sandbox-stdin");
                writer.setDaemon(true);
                writer.start();
            } else {
                stdin.write('\n');
                stdin.flush();
                if (!launch.keepStdinOpen()) {
                    stdin.close();
                }
            }
        } catch (IOException e) {
            // a shell that already exited (bash refuses a script it cannot parse before it reads its first line) is
            // no failure to start: the launcher's exit code and output say what happened
            boolean shellEnded = shell > 0 && !runningNotZombie(shell);
            if (p.isAlive() && !shellEnded) {
                SandboxProcess failed = new SandboxProcess(this, p, commandCgroup, null);
                running.add(failed);
                failed.close();
                throw new DerrickException("cannot start a command in the sandbox: " + e.getMessage(), e);
            }
            // it ended before reading its first line (a syntax error, or the sandbox is gone): its output says why
        } catch (RuntimeException e) {
            SandboxProcess failed = new SandboxProcess(this, p, commandCgroup, null);
            running.add(failed);
            failed.close();
            throw e;
        }
        process = new SandboxProcess(this, p, commandCgroup, writer);
        running.add(process);
        return process;
    }

    /**
     * The host pid of the shell nsenter forks into the PID namespace: the child of the launcher process. Found
     * while the shell still waits for its first line, so it cannot have started anything yet.
     */
    private static long findChild(Process p) {
        long parent = p.pid();
        long deadline = System.nanoTime() + 10_000_000_000L;
        int round = 0;
        while (System.nanoTime() < deadline) {
            // pids are handed out in increasing order: the child is nearly always parent + 1 … + a few
            for (long candidate = parent + 1; candidate <= parent + 8; candidate++) {
                if (parentOf(candidate) == parent) {
                    return candidate;
                }
            }
            if (++round % 8 == 0) {
                long found = scanForChild(parent);
                if (found > 0) {
                    return found;
                }
            }
            if (!p.isAlive()) {
                return -1;
            }
            // park, not spin: on a small machine a spinning caller takes the CPU the launcher needs to fork
            java.util.concurrent.locks.LockSupport.parkNanos(round > 64 ? 1_000_000L : 50_000L);
        }
        throw new DerrickException("the sandboxed command did not start within 10 s");
    }

    private static boolean hasChild(long parent) {
        for (long candidate = parent + 1; candidate <= parent + 8; candidate++) {
            if (parentOf(candidate) == parent) {
                return true;
            }
        }
        return scanForChild(parent) > 0;
    }

    private static long scanForChild(long parent) {
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"),
                q -> q.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path proc : procs) {
                long pid = Long.parseLong(proc.getFileName().toString());
                if (parentOf(pid) == parent) {
                    return pid;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** Whether a process exists and has not exited (state Z or X: exited, waiting to be reaped). */
    private static boolean runningNotZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.ISO_8859_1);
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static long parentOf(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.ISO_8859_1);
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 3);
            return Long.parseLong(f[1]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** A finished command: its cgroup goes once empty (background processes keep it until the sandbox closes). */
    void released(SandboxProcess process) {
        running.remove(process);
        Path cg = process.cgroup();
        if (cg != null && !SandboxCgroups.removeIfEmpty(cg)) {
            lingering.add(cg);
        }
        if (lingering.size() > 32) {
            lingering.removeIf(SandboxCgroups::removeIfEmpty);
        }
    }

    /** Whether any process started in the sandbox is still running (the holder aside). Needs cgroups. */
    public boolean anythingRunning() {
        if (cgroup == null) {
            return !running.isEmpty();
        }
        for (SandboxProcess p : running) {
            if (p.anythingRunning()) {
                return true;
            }
        }
        for (Path cg : lingering) {
            if (SandboxCgroups.populated(cg)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Freezes (or thaws) every process of the sandbox, so that the provider can read the workspace while nothing in
     * it changes. Needs cgroups; returns whether it froze.
     */
    public boolean freeze(boolean frozen) {
        if (cgroup == null) {
            return false;
        }
        try {
            SandboxCgroups.freeze(cgroup, frozen);
            if (frozen) {
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() < deadline && !Files.readString(cgroup.resolve("cgroup.events")).contains("frozen 1")) {
                    SandboxCgroups.sleepMillis(1);
                }
            }
            return true;
        } catch (IOException e) {
            LOG.debug("cannot freeze {}: {}", cgroup, e.getMessage());
            return false;
        }
    }

    /**
     * Ends every process and starts a fresh holder (after the workspace directory was remounted or rewritten: a
     * running holder would keep the old mount).
     */
    public synchronized void restart() {
        if (closed) {
            throw new DerrickException("the sandbox of " + root + " is closed");
        }
        stopEverything();
        startHolder();
    }

    /** Ends every process of the sandbox and the holder. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopEverything();
    }

    public boolean isClosed() {
        return closed;
    }

    private void stopEverything() {
        Process h = holder;
        holder = null;
        for (SandboxProcess p : List.copyOf(running)) {
            if (cgroup == null) {
                p.kill();
            }
        }
        stopHolder(h);
        holderPid = 0;
        for (SandboxProcess p : List.copyOf(running)) {
            p.kill(); // their launchers end once their shells are gone
        }
        running.clear();
        lingering.clear();
    }

    private static Thread pump(InputStream in, ByteArrayOutputStream into, String threadName) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[4096];
            int n;
            try {
                while ((n = in.read(buf)) > 0) {
                    synchronized (into) {
                        if (into.size() < 16384) {
                            into.write(buf, 0, n);
                        }
                    }
                }
            } catch (IOException e) {
                // closed
            }
        }, threadName);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static String text(ByteArrayOutputStream errors, String info) {
        String s;
        synchronized (errors) {
            s = errors.toString(StandardCharsets.UTF_8).strip();
        }
        return s.isEmpty() ? info.strip() : s;
    }

    /** Single-quotes a string for bash. */
    public static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    @Override
    public String toString() {
        return "Sandbox[" + name + ", " + phase + ", " + root + (closed ? ", closed" : "") + "]";
    }
}
