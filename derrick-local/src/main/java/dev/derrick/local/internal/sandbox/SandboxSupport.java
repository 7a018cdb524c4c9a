package dev.derrick.local.internal.sandbox;

import dev.derrick.api.DerrickException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * What this machine offers for sandboxing local workspaces, found once per provider: the tools (bubblewrap,
 * nsenter, setpriv), whether the provider runs as root (then commands run as a dedicated unprivileged uid and every
 * command gets a cgroup of its own), the cgroup2 hierarchy used for that, and a test run of bubblewrap.
 *
 * <p>See {@link Sandbox} for what a sandboxed command sees.
 */
public final class SandboxSupport {
    /** The uid (and gid) sandboxed commands run as when the provider runs as root, unless configured. */
    public static final int DEFAULT_UID = 59999;
    /** Host directories mounted read-only into every sandbox. */
    public static final List<String> SYSTEM_DIRS = List.of("/usr", "/etc");
    /** Top-level host entries that are symlinks into /usr on merged-usr systems, or real directories elsewhere. */
    public static final List<String> SYSTEM_LINKS = List.of("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32");
    /** Names at the top of a sandboxed workspace that are mount points: repositories may not be cloned there. */
    public static final List<String> RESERVED = List.of("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
            "proc", "dev");

    private static final Logger LOG = LoggerFactory.getLogger(SandboxSupport.class);
    private static final String INSTALL = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)";

    private final Path bwrap;
    private final Path nsenter;
    private final Path setpriv;
    private final Path setsid;
    private final Path shell;
    private final Path sleep;
    private final boolean root;
    private final int uid;
    private final int gid;
    private final SandboxCgroups cgroups;
    private final List<Path> readOnlyPaths;
    private final String unavailable;
    /** Whether {@code nsenter -S/-G} itself drops the supplementary groups (then no {@code setpriv} per command). */
    private volatile Boolean nsenterClearsGroups;

    private SandboxSupport(Path bwrap, Path nsenter, Path setpriv, Path setsid, Path shell, Path sleep, boolean root,
                           int uid, int gid, SandboxCgroups cgroups, List<Path> readOnlyPaths, String unavailable) {
        this.bwrap = bwrap;
        this.nsenter = nsenter;
        this.setpriv = setpriv;
        this.setsid = setsid;
        this.shell = shell;
        this.sleep = sleep;
        this.root = root;
        this.uid = uid;
        this.gid = gid;
        this.cgroups = cgroups;
        this.readOnlyPaths = List.copyOf(readOnlyPaths);
        this.unavailable = unavailable;
    }

    /**
     * Looks at this machine and test-runs bubblewrap.
     *
     * @param sandboxUid    uid for sandboxed commands when running as root ({@code null}: {@link #DEFAULT_UID})
     * @param extraReadOnly more host paths to mount read-only at the same place (e.g. {@code /opt})
     */
    public static SandboxSupport detect(Integer sandboxUid, List<Path> extraReadOnly) {
        return detect(sandboxUid, extraReadOnly, null);
    }

    /** @param bwrapPath the bubblewrap executable, or {@code null} to look in the usual places */
    public static SandboxSupport detect(Integer sandboxUid, List<Path> extraReadOnly, Path bwrapPath) {
        Objects.requireNonNull(extraReadOnly, "extraReadOnly");
        int[] ids = currentIds();
        boolean root = ids[0] == 0;
        int uid = root ? (sandboxUid == null ? DEFAULT_UID : sandboxUid) : ids[0];
        int gid = root ? uid : ids[1];
        if (root && uid == 0) {
            throw new IllegalArgumentException("option 'sandbox_uid' must not be 0: sandboxed commands never run as root");
        }
        List<Path> ro = new ArrayList<>();
        for (Path p : extraReadOnly) {
            if (!p.isAbsolute()) {
                throw new IllegalArgumentException("option 'sandbox_ro_paths' takes absolute paths, got '" + p + "'");
            }
            ro.add(p.normalize());
        }
        Path bwrap = bwrapPath != null ? first(bwrapPath.toString()) : first("/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap");
        Path nsenter = first("/usr/bin/nsenter", "/bin/nsenter", "/usr/sbin/nsenter");
        Path setpriv = first("/usr/bin/setpriv", "/bin/setpriv");
        Path setsid = first("/usr/bin/setsid", "/bin/setsid");
        Path shell = first("/bin/bash", "/usr/bin/bash");
        if (shell == null) {
            shell = first("/bin/sh", "/usr/bin/sh");
        }
        Path sleep = first("/usr/bin/sleep", "/bin/sleep");
        String reason = null;
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            reason = "the sandbox needs Linux";
        } else if (bwrap == null) {
            reason = "bubblewrap (bwrap) is not installed" + (bwrapPath != null ? " at " + bwrapPath : "") + ": " + INSTALL;
        } else if (nsenter == null || (root && setpriv == null)) {
            reason = "nsenter/setpriv (util-linux) are not installed";
        } else if (shell == null || sleep == null) {
            reason = "no shell or sleep in /bin or /usr/bin";
        }
        SandboxCgroups cgroups = root && reason == null ? SandboxCgroups.find() : null;
        SandboxSupport support = new SandboxSupport(bwrap, nsenter, setpriv, setsid, shell, sleep, root, uid, gid,
                cgroups, ro, reason);
        if (reason == null) {
            String tried = support.tryRun();
            if (tried != null) {
                return new SandboxSupport(bwrap, nsenter, setpriv, setsid, shell, sleep, root, uid, gid, null, ro,
                        "bubblewrap does not work here (" + tried + "); on Debian/Ubuntu check that unprivileged user"
                                + " namespaces are allowed (sysctl kernel.unprivileged_userns_clone=1,"
                                + " user.max_user_namespaces > 0)");
            }
        }
        return support;
    }

    /** Whether sandboxed workspaces can be made here. */
    public boolean available() {
        return unavailable == null;
    }

    /** Why not, with how to fix it; {@code null} when available. */
    public String unavailableReason() {
        return unavailable;
    }

    /** Throws with the reason when unavailable. */
    public void require() {
        if (unavailable != null) {
            throw new DerrickException("isolation 'sandbox' is not available: " + unavailable);
        }
    }

    public boolean root() {
        return root;
    }

    /** The uid sandboxed commands run as. */
    public int uid() {
        return uid;
    }

    public int gid() {
        return gid;
    }

    /** The cgroup2 hierarchy for per-workspace and per-command cgroups, or {@code null} (not root, none mounted). */
    public SandboxCgroups cgroups() {
        return cgroups;
    }

    Path bwrap() {
        return bwrap;
    }

    Path nsenter() {
        return nsenter;
    }

    Path setpriv() {
        return setpriv;
    }

    /**
     * Whether a command must be started through {@code setpriv --clear-groups} so it does not keep the JVM's
     * supplementary groups (root only). util-linux's nsenter drops them itself when it sets a uid and gid; that is
     * checked once, with a supplementary group given on purpose, and saves one exec per command. Any doubt: setpriv.
     */
    boolean needsSetpriv() {
        if (!root) {
            return false;
        }
        Boolean clears = nsenterClearsGroups;
        if (clears == null) {
            clears = probeNsenterClearsGroups();
            nsenterClearsGroups = clears;
        }
        return !clears;
    }

    private boolean probeNsenterClearsGroups() {
        try {
            ProcessBuilder pb = new ProcessBuilder(setpriv.toString(), "--groups", "1", "--", nsenter.toString(), "-t",
                    Long.toString(ProcessHandle.current().pid()), "-S", Integer.toString(uid), "-G", Integer.toString(gid),
                    "--", shell.toString(), "-c", "grep '^Groups:' /proc/self/status").redirectErrorStream(true);
            pb.environment().clear();
            Process p = pb.start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            boolean clears = p.exitValue() == 0 && out.strip().matches("Groups:\\s*");
            LOG.debug("nsenter {} the supplementary groups ({})", clears ? "drops" : "keeps", out.strip());
            return clears;
        } catch (IOException | RuntimeException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    Path shell() {
        return shell;
    }

    Path sleep() {
        return sleep;
    }

    /** {@code setsid} when the JVM has a controlling terminal (commands must not get it: TIOCSTI), else null. */
    Path setsidIfTerminal() {
        return setsid != null && hasControllingTerminal() ? setsid : null;
    }

    List<Path> readOnlyPaths() {
        return readOnlyPaths;
    }

    /** What the sandbox guarantees here, for logs and {@code info()}. */
    public String describe() {
        if (!available()) {
            return "unavailable: " + unavailable;
        }
        return "bubblewrap; commands as uid " + uid + (root ? " (not root)" : " (the provider's own)")
                + (cgroups != null ? "; per-command cgroups under " + cgroups.base()
                : "; no cgroups: a timeout kills the command's process tree, setsid/double-forked processes end with the workspace");
    }

    /** The command prefix that starts a process as the sandbox user with nothing of root's (root only). */
    List<String> dropToSandboxUser() {
        if (!root) {
            return List.of();
        }
        return List.of(setpriv.toString(), "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs", "--");
    }

    /** One throw-away bwrap with the namespaces and mounts sandboxes use: null when it worked, else its error. */
    private String tryRun() {
        List<String> command = new ArrayList<>(dropToSandboxUser());
        command.addAll(List.of(bwrap.toString(), "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup", "--die-with-parent", "--ro-bind", "/usr", "/usr"));
        for (String link : SYSTEM_LINKS) {
            Path p = Path.of(link);
            if (Files.isSymbolicLink(p)) {
                try {
                    command.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), link));
                } catch (IOException e) {
                    return e.getMessage();
                }
            } else if (Files.isDirectory(p)) {
                command.addAll(List.of("--ro-bind", link, link));
            }
        }
        command.addAll(List.of("--proc", "/proc", "--dev", "/dev", "--", sleep.toString(), "0"));
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().clear();
            Process p = pb.start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "timed out";
            }
            if (p.exitValue() != 0) {
                return out.isEmpty() ? "exit " + p.exitValue() : out;
            }
            return null;
        } catch (IOException e) {
            return e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static Path first(String... candidates) {
        for (String c : candidates) {
            Path p = Path.of(c);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }

    /** [uid, gid] of this process, from /proc/self/status (the JDK has no API for it). */
    static int[] currentIds() {
        try {
            int uid = -1;
            int gid = -1;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    uid = Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                } else if (line.startsWith("Gid:")) {
                    gid = Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                }
            }
            return new int[] {uid, gid};
        } catch (IOException | RuntimeException e) {
            return new int[] {-1, -1};
        }
    }

    private static boolean hasControllingTerminal() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.ISO_8859_1);
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(fields[4]) != 0; // tty_nr
        } catch (IOException | RuntimeException e) {
            return true; // cannot tell: assume the worst
        }
    }

    /** Whether a path exists without following a final symbolic link. */
    static boolean existsNoFollow(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }

    @Override
    public String toString() {
        return "SandboxSupport[" + describe() + "]";
    }

    static Logger log() {
        return LOG;
    }
}
