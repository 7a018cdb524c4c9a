package dev.derrick.local.internal.sandbox;

import dev.derrick.api.WorkspaceConfig;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What the network and resource-limit support plugs into a {@link Sandbox}: extra bubblewrap arguments for the
 * holder (e.g. {@code --unshare-net}), something to start once the holder runs (e.g. slirp4netns against its pid),
 * and cgroup.procs files the holder and every command join (e.g. per-workspace memory/pids/cpu cgroups). One
 * instance per sandbox; every method has a no-op default.
 */
public interface SandboxExtension {
    /** Nothing extra. */
    SandboxExtension NONE = new SandboxExtension() {
    };

    /** Makes the extension of each sandbox of a workspace (one per phase; the setup phase may run several times). */
    @FunctionalInterface
    interface Factory {
        /** No extensions. */
        Factory NONE = (id, config, phase) -> SandboxExtension.NONE;

        /**
         * @param workspaceId the workspace (its cgroup and the sandbox's are named after it)
         * @param config      the workspace's config (e.g. its {@code network} field)
         */
        SandboxExtension create(String workspaceId, WorkspaceConfig config, Sandbox.Phase phase);
    }

    /** Arguments added to the holder's bubblewrap command line (before the mounts). */
    default List<String> holderArgs(Sandbox.Phase phase) {
        return List.of();
    }

    /**
     * Called once the holder runs, with the host pid of the process inside its namespaces; what it returns is
     * closed when the holder stops (after its processes are gone).
     */
    default AutoCloseable holderStarted(long holderPid, Sandbox.Phase phase) throws Exception {
        return () -> { };
    }

    /** {@code cgroup.procs} files (host paths) the holder and every command of the sandbox are written into. */
    default List<Path> cgroupProcs(Sandbox.Phase phase) {
        return List.of();
    }

    /** What this extension enforces and what it cannot, for {@code info()} and logs (e.g. {@code network=off}). */
    default Map<String, String> describe() {
        return Map.of();
    }
}
