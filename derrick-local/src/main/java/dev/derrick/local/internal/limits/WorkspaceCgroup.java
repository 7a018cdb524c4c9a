package dev.derrick.local.internal.limits;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One workspace's cgroup, in each usable controller. Every process of the workspace enters it <em>before</em> it runs
 * anything of the workspace's ({@link #wrap(List)}), so everything it forks — daemons, {@code setsid}, background
 * processes — is counted, limited and found again by {@link #close()}, which kills what is left and removes the cgroup.
 */
public final class WorkspaceCgroup implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkspaceCgroup.class);

    private final String workspaceId;
    private final Map<String, Path> dirs;
    private final boolean v2;

    WorkspaceCgroup(String workspaceId, Map<String, Path> dirs, boolean v2) {
        this.workspaceId = workspaceId;
        this.dirs = Collections.unmodifiableMap(new LinkedHashMap<>(dirs));
        this.v2 = v2;
    }

    /** The workspace id this cgroup is named after. */
    public String workspaceId() {
        return workspaceId;
    }

    /** The cgroup's directory per controller ({@code memory}, {@code pids}, {@code cpu}). */
    public Map<String, Path> directories() {
        return dirs;
    }

    /**
     * {@code command} prefixed so that its process writes itself into this cgroup and then {@code exec}s the command:
     * {@code /bin/sh -c 'echo $$ >…/cgroup.procs; … exec "$@"' derrick-cgroup <command…>}. It exits with 125 (and runs
     * nothing) when the kernel refuses, e.g. at the {@code pids} limit or once the cgroup is gone.
     */
    public List<String> wrap(List<String> command) {
        if (dirs.isEmpty()) {
            return command;
        }
        StringBuilder script = new StringBuilder();
        for (Path dir : new LinkedHashSet<>(dirs.values())) {
            script.append("echo $$ >").append(quote(dir.resolve("cgroup.procs").toString()))
                    .append(" || { echo 'derrick: cannot enter the workspace cgroup' >&2; exit 125; }; ");
        }
        script.append("exec \"$@\"");
        List<String> wrapped = new ArrayList<>(List.of("/bin/sh", "-c", script.toString(), "derrick-cgroup"));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Moves a running process (not its existing children) into this cgroup. */
    public void join(long pid) throws IOException {
        for (Path dir : new LinkedHashSet<>(dirs.values())) {
            Files.writeString(dir.resolve("cgroup.procs"), Long.toString(pid));
        }
    }

    /** The processes in the cgroup now (any controller). */
    public Set<Long> pids() {
        Set<Long> all = new LinkedHashSet<>();
        dirs.values().forEach(dir -> all.addAll(procs(dir)));
        return all;
    }

    static Set<Long> procs(Path dir) {
        Set<Long> pids = new LinkedHashSet<>();
        try {
            for (String line : Files.readAllLines(dir.resolve("cgroup.procs"))) {
                if (!line.isBlank()) {
                    pids.add(Long.parseLong(line.trim()));
                }
            }
        } catch (NoSuchFileException e) {
            // removed
        } catch (IOException | NumberFormatException e) {
            LOG.debug("cannot read {}: {}", dir.resolve("cgroup.procs"), e.getMessage());
        }
        return pids;
    }

    /** Kills every process in the cgroup (SIGKILL), until none is left or a few rounds have passed. */
    public void kill() {
        for (Path dir : dirs.values()) {
            if (v2 && Files.exists(dir.resolve("cgroup.kill"))) {
                try {
                    Files.writeString(dir.resolve("cgroup.kill"), "1");
                } catch (IOException e) {
                    LOG.debug("cgroup.kill of {} failed: {}", dir, e.getMessage());
                }
            }
        }
        // v1 (or no cgroup.kill): signal each process; a fork between reading and killing is caught by the next round
        for (int round = 0; round < 50; round++) {
            Set<Long> pids = pids();
            if (pids.isEmpty()) {
                return;
            }
            for (long pid : pids) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            sleep(round < 10 ? 5 : 20);
        }
        LOG.warn("processes {} of workspace {} survived SIGKILL", pids(), workspaceId);
    }

    /** Kills what is left and removes the cgroup from every controller. Idempotent. */
    @Override
    public void close() {
        kill();
        for (Path dir : dirs.values()) {
            for (int attempt = 0; ; attempt++) {
                try {
                    Files.deleteIfExists(dir);
                    break;
                } catch (IOException e) {
                    // EBUSY while the last killed processes finish exiting
                    if (attempt >= 100) {
                        LOG.warn("cannot remove cgroup {}: {}", dir, e.getMessage());
                        break;
                    }
                    kill();
                    sleep(10);
                }
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    @Override
    public String toString() {
        return "cgroup " + dirs.values();
    }
}
