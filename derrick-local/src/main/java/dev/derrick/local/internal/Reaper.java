package dev.derrick.local.internal;

import dev.derrick.core.process.OwnerId;
import dev.derrick.local.internal.cache.Overlay;
import dev.derrick.local.internal.sandbox.SandboxCgroups;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Labels workspaces with their owner at birth and reaps those of owners that are gone (a JVM killed with
 * {@code kill -9} runs no shutdown hook). An owner record {@code <root>/.derrick-owners/<id>} holds the owning JVM
 * ({@link OwnerId#text()}: pid, start in clock ticks since boot, boot id, host); at the next provider start on the
 * same root, a record whose JVM is certainly gone ({@link OwnerId#isAlive()}) has its
 * workspace's processes (found by their working directory) killed and its directory removed. A detached workspace
 * keeps its record, so it is reaped the same way once its JVM has ended.
 *
 * <p>The records live beside the workspace directories, never inside one: a sandboxed command sees only its own
 * workspace directory (bound as its root), so it cannot forge or remove the record that decides its reaping. With
 * isolation {@code none} commands run as the provider's user and nothing is out of their reach.
 */
public final class Reaper {
    /** Directory under the root holding owner records; not a workspace. */
    public static final String OWNERS = ".derrick-owners";
    private static final Logger LOG = LoggerFactory.getLogger(Reaper.class);

    /** What owner records and workspace directories are named; anything else under the root is left alone. */
    private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("local-[0-9a-f]{12}");

    private final Path root;
    private final String self;
    private final SandboxCgroups cgroups;

    public Reaper(Path root) {
        this(root, null);
    }

    /** @param cgroups the sandboxes' cgroups (their processes are killed by cgroup), or {@code null} */
    public Reaper(Path root, SandboxCgroups cgroups) {
        this.root = root;
        this.cgroups = cgroups;
        this.self = OwnerId.current().text();
    }

    /** Records this JVM as the owner of workspace {@code id}; call before making its directory. */
    public void claim(String id) throws IOException {
        Path owners = root.resolve(OWNERS);
        for (int attempt = 0; ; attempt++) {
            Files.createDirectories(owners);
            try {
                Files.writeString(owners.resolve(id), self, StandardCharsets.US_ASCII);
                return;
            } catch (java.nio.file.NoSuchFileException e) {
                if (attempt >= 5) {
                    throw e; // removed again and again by concurrent releases
                }
            }
        }
    }

    /** Forgets the owner record of a workspace that has been removed. */
    public void release(String id) {
        Path owners = root.resolve(OWNERS);
        try {
            Files.deleteIfExists(owners.resolve(id));
            Files.deleteIfExists(owners); // only when empty: the root stays clean
        } catch (java.nio.file.DirectoryNotEmptyException e) {
            // other workspaces live
        } catch (IOException e) {
            LOG.debug("could not remove owner record of {}: {}", id, e.getMessage());
        }
    }

    /** Reaps the workspaces of owners that are gone; returns their ids. Best effort, never throws. */
    public List<String> reapOrphans() {
        List<String> reaped = new ArrayList<>();
        Path owners = root.resolve(OWNERS);
        if (!Files.isDirectory(owners)) {
            return reaped;
        }
        try (DirectoryStream<Path> records = Files.newDirectoryStream(owners)) {
            for (Path record : records) {
                String id = record.getFileName().toString();
                if (!ID.matcher(id).matches() || !Files.isRegularFile(record, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        || ownerAlive(record)) {
                    continue;
                }
                Path dir = root.resolve(id);
                if (cgroups != null) {
                    cgroups.reap(id); // every process of its sandbox, wherever it went
                }
                int killed = Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS) ? killProcessesIn(dir) : 0;
                if (Overlay.isMounted(dir)) {
                    Overlay.unmount(dir); // a detached or killed cache workspace: its bookkeeping goes with the cache's reaping
                }
                TreeDeleter.delete(dir);
                Files.deleteIfExists(record);
                LOG.info("reaped workspace {} of a provider that is gone ({} process(es) killed)", id, killed);
                reaped.add(id);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not reap orphaned workspaces under {}: {}", root, e.getMessage());
        }
        if (!reaped.isEmpty()) {
            try {
                Files.deleteIfExists(owners); // only when empty: the root stays clean
            } catch (IOException e) {
                // other workspaces live
            }
        }
        return reaped;
    }

    private static boolean ownerAlive(Path record) {
        String text;
        try {
            text = Files.readString(record, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return true; // unreadable: leave it alone
        }
        // this JVM's own workspaces are never orphans; records of older versions ("<pid> <ticks> ticks") parse too
        // (a record with this JVM's pid and another start is left alone too, as it always was: it is mine or waits for me)
        return OwnerId.parse(text).map(o -> o.pid() == ProcessHandle.current().pid() || o.isAlive()).orElse(true);
    }

    /** SIGTERM, then SIGKILL, to processes whose working directory is in {@code dir}; returns how many. */
    static int killProcessesIn(Path dir) {
        Path real;
        try {
            real = dir.toRealPath();
        } catch (IOException e) {
            real = dir.toAbsolutePath().normalize(); // already removed: /proc shows "<dir> (deleted)"
        }
        String prefix = real.toString();
        List<ProcessHandle> found = new ArrayList<>();
        long self = ProcessHandle.current().pid();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"),
                p -> p.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path proc : procs) {
                try {
                    long pid = Long.parseLong(proc.getFileName().toString());
                    String cwd = Files.readSymbolicLink(proc.resolve("cwd")).toString();
                    if (pid != self && (cwd.equals(prefix) || cwd.startsWith(prefix + "/") || cwd.startsWith(prefix + " (deleted)"))) {
                        ProcessHandle.of(pid).ifPresent(found::add);
                    }
                } catch (IOException | RuntimeException e) {
                    // gone, or not ours to look at
                }
            }
        } catch (IOException e) {
            return 0;
        }
        found.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + 500_000_000L;
        while (found.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        found.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        return found.size();
    }
}
