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

        /**
         * What the sandboxes of a workspace with this config get (network per phase, how each limit is enforced), for
         * {@code info()}; empty when nothing is added.
         */
        default String describe(WorkspaceConfig config) {
            return "";
        }
    }

    /** Arguments added to the holder's bubblewrap command line (before the mounts). */
    default List<String> holderArgs(Sandbox.Phase phase) {
        return List.of();
    }

    /**
     * Arguments added to the holder's bubblewrap command line after the sandbox's own mounts (e.g. a file bound over
     * {@code /etc/resolv.conf}, which a bind before the mount of {@code /etc} would not survive).
     */
    default List<String> holderMounts(Sandbox.Phase phase) {
        return List.of();
    }

    /**
     * Called with the host pid of the holder's launcher and of every command's shell, before either runs anything of
     * the workspace's (after it joined the {@link #cgroupProcs} cgroups): e.g. to set resource limits on it.
     *
     * @throws java.io.IOException when the process cannot be given what it needs (it is then ended, not run)
     */
    default void entered(long pid, Sandbox.Phase phase) throws java.io.IOException {
    }

    /**
     * Called once the holder runs, with the host pid of the process inside its namespaces; what it returns is
     * closed when the holder stops (after its processes are gone).
     */
    default AutoCloseable holderStarted(long holderPid, Sandbox.Phase phase) throws Exception {
        return () -> { };
    }

    /**
     * Called each time the holder has stopped (or failed to start) and its processes are gone: what
     * {@link #cgroupProcs} made for it can go.
     */
    default void holderStopped(Sandbox.Phase phase) {
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
