package org.example.derrick.sandbox;

import dev.derrick.tck.WorkspaceProviderContract;
import org.junit.jupiter.api.AfterAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sandbox backend passes derrick's provider TCK: what a third-party author writes to prove their backend
 * behaves like the built-in ones. Reset, checkpoints and fetch are all implemented (no {@code supports…()} is
 * overridden to {@code false}), so the contract runs their tests for real; {@link SandboxCachedWorkspaceIT} runs the
 * cache's freshness contract.
 */
class SandboxProviderIT extends WorkspaceProviderContract {
    private final Path root;
    private final Path cache;

    SandboxProviderIT() throws IOException {
        root = Files.createTempDirectory("sandbox-tck-");
        cache = Files.createTempDirectory("sandbox-tck-cache-");
    }

    @Override
    protected String providerName() {
        return SandboxProviderFactory.NAME;
    }

    /**
     * What this example does not isolate — all of it: despite its name, it runs commands as plain processes of the
     * provider's user in a directory (no namespaces), so a command can read the provider's environment through
     * /proc, see and signal other workspaces and the provider, and share the host's /tmp; absolute paths are host
     * paths to commands but workspace paths to the file API; and a daemon that leaves its session outlives close().
     * A real backend names here the guarantees it keeps; the isolation contract then checks them.
     */
    @Override
    protected Set<IsolationGuarantee> isolationGuarantees() {
        return Set.of();
    }

    @Override
    protected boolean tracksChangesOutsideRepositories() {
        return false;   // diff covers the repositories only
    }

    @Override
    protected boolean supportsBackgroundProcesses() {
        return false;   // not implemented by this example
    }

    @Override
    protected Map<String, Object> providerOptions(Map<String, String> environment) {
        // The cache is on (the engine's default): most creates here are cache hits with a create-time fetch.
        return Map.of("environment", environment, "root", root.toString(), "cache_dir", cache.toString());
    }

    @Override
    protected void assertNothingLeftBehind(Set<String> idsBefore) {
        try (Stream<Path> dirs = Files.list(root)) {
            assertThat(dirs.map(p -> p.getFileName().toString())).allMatch(idsBefore::contains);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @AfterAll
    void rootIsEmptyOnceEverythingIsClosed() throws IOException {
        provider.close();   // runs before the contract's own (idempotent) teardown
        try (Stream<Path> dirs = Files.list(root)) {
            assertThat(dirs).isEmpty();
        }
        Files.delete(root);
        Trees.delete(cache);
    }
}
