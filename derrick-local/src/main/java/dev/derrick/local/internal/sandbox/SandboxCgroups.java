package dev.derrick.local.internal.sandbox;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The cgroup2 hierarchy sandboxes use (root only): {@code <cgroup2 mount>/derrick/<workspace id>/} per workspace,
 * {@code …/holder} for its holder process and {@code …/c<n>} per command. {@code cgroup.kill} ends every process of
 * a cgroup and its children at once, whatever they did (setsid, double fork, changing directory), and processes
 * cannot leave: the hierarchy is not mounted in any sandbox and belongs to root. No controllers are enabled here;
 * resource limits are another matter (see {@link SandboxExtension}).
 */
public final class SandboxCgroups {
    /** Names this class creates under the base: workspace ids, so a reaper never touches anything else. */
    public static final Pattern WORKSPACE_NAME = Pattern.compile("local-[0-9a-f]{12}(-setup-[0-9a-f]{8})?");
    private static final Logger LOG = LoggerFactory.getLogger(SandboxCgroups.class);

    private final Path base;

    private SandboxCgroups(Path base) {
        this.base = base;
    }

    /** The writable cgroup2 mount ({@code /sys/fs/cgroup/unified} on hybrid hosts, {@code /sys/fs/cgroup} on v2 ones). */
    static SandboxCgroups find() {
        List<Path> mounts = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 3 && f[2].equals("cgroup2") && !f[3].startsWith("ro")) {
                    mounts.add(Path.of(f[1].replace("\\040", " ")));
                }
            }
        } catch (IOException e) {
            return null;
        }
        for (Path mount : mounts) {
            Path base = mount.resolve("derrick");
            try {
                Files.createDirectories(base);
                if (Files.isRegularFile(base.resolve("cgroup.kill"))) {
                    return new SandboxCgroups(base);
                }
                LOG.debug("{} has no cgroup.kill (kernel before 5.14): not used", base);
            } catch (IOException e) {
                LOG.debug("cannot use cgroup2 at {}: {}", mount, e.getMessage());
            }
        }
        return null;
    }

    /** The parent of every workspace cgroup. */
    public Path base() {
        return base;
    }

    /** The directory of a workspace's cgroup (not created). */
    public Path workspace(String id) {
        if (!WORKSPACE_NAME.matcher(id).matches()) {
            throw new IllegalArgumentException("not a workspace id: " + id);
        }
        return base.resolve(id);
    }

    /** Creates a cgroup directory (and its parents). */
    static Path create(Path dir) throws IOException {
        Files.createDirectories(dir);
        return dir;
    }

    /** Moves a process into a cgroup. */
    static void join(Path cgroup, long pid) throws IOException {
        Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(pid), StandardCharsets.US_ASCII);
    }

    /** Kills every process of the cgroup and its children. */
    static void kill(Path cgroup) {
        try {
            if (Files.isDirectory(cgroup)) {
                Files.writeString(cgroup.resolve("cgroup.kill"), "1", StandardCharsets.US_ASCII);
            }
        } catch (IOException e) {
            LOG.debug("cgroup.kill of {} failed: {}", cgroup, e.getMessage());
        }
    }

    /** Freezes ({@code true}) or thaws a cgroup and its children. */
    static void freeze(Path cgroup, boolean frozen) throws IOException {
        Files.writeString(cgroup.resolve("cgroup.freeze"), frozen ? "1" : "0", StandardCharsets.US_ASCII);
    }

    /** Whether any process is in the cgroup or its children. */
    static boolean populated(Path cgroup) {
        try {
            for (String line : Files.readAllLines(cgroup.resolve("cgroup.events"))) {
                if (line.startsWith("populated ")) {
                    return !line.endsWith(" 0");
                }
            }
        } catch (IOException e) {
            return false; // gone
        }
        return false;
    }

    /** Kills everything in the cgroup, waits (at most ~5 s) until it is empty, and removes it and its children. */
    static boolean killAndRemove(Path cgroup) {
        if (!Files.isDirectory(cgroup)) {
            return true;
        }
        kill(cgroup);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (populated(cgroup) && System.nanoTime() < deadline) {
            sleepMillis(5);
        }
        boolean empty = !populated(cgroup);
        if (!empty) {
            LOG.warn("processes of cgroup {} survived cgroup.kill", cgroup);
        }
        removeTree(cgroup);
        return empty;
    }

    /** rmdir of a cgroup and its child cgroups, deepest first; populated ones stay. */
    static void removeTree(Path cgroup) {
        try (DirectoryStream<Path> children = Files.newDirectoryStream(cgroup, Files::isDirectory)) {
            for (Path child : children) {
                removeTree(child);
            }
        } catch (IOException e) {
            return;
        }
        try {
            Files.deleteIfExists(cgroup);
        } catch (IOException e) {
            LOG.debug("cannot remove cgroup {}: {}", cgroup, e.getMessage());
        }
    }

    /** Removes a cgroup if nothing is in it; returns whether it is gone. */
    static boolean removeIfEmpty(Path cgroup) {
        if (populated(cgroup)) {
            return false;
        }
        try {
            Files.deleteIfExists(cgroup);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Kills and removes the cgroups of workspaces of a provider that is gone, named by their ids (the reaper;
     * anything not named like a workspace is left alone).
     */
    public void reap(String workspaceId) {
        if (!WORKSPACE_NAME.matcher(workspaceId).matches()) {
            return;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(base, p -> Files.isDirectory(p)
                && WORKSPACE_NAME.matcher(p.getFileName().toString()).matches()
                && p.getFileName().toString().startsWith(workspaceId))) {
            for (Path dir : dirs) {
                killAndRemove(dir);
            }
            Portal.reap(workspaceId);
        } catch (IOException e) {
            LOG.debug("cannot reap cgroups of {}: {}", workspaceId, e.getMessage());
        }
    }

    static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "SandboxCgroups[" + base + "]";
    }
}
