package dev.derrick.server.remote;

import dev.derrick.api.CheckpointNotFoundException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.remote.RemoteWorkspaces;
import dev.derrick.core.git.TokenHosts;
import dev.derrick.server.internal.ApiConfigPolicy;
import dev.derrick.server.internal.Operations;
import dev.derrick.tck.WorkspaceProviderContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The TCK against a remote client provider talking to a real derrick agent in this JVM, whose backend is
 * {@code local} on temporary directories (workspaces and cache). The agent gets the contract's provider environment,
 * so git tokens stay on the agent's side as in production. Subclasses start the transport (HTTP server or NATS
 * agent) around {@link #agentOperations(Map)} and stop it in {@link #stopAgent()}.
 *
 * <p>Adds what only a remote provider shows: checkpoints travelling over the wire, and the agent's backend staying
 * visible through {@link RemoteWorkspaces#agentInfo} while {@code info().provider()} names the client provider.
 */
abstract class RemoteProviderContract extends WorkspaceProviderContract {
    private final Path root = tempDir("derrick-remote-tck-root-");
    private final Path cache = tempDir("derrick-remote-tck-cache-");
    private Operations operations;

    /** The agent side: a {@code local} provider seeing {@code environment} as its own, created once. */
    protected synchronized Operations agentOperations(Map<String, String> environment) {
        if (operations == null) {
            WorkspaceProvider local = WorkspaceProviders.open("local", Map.of("environment", environment,
                    "root", root.toString(), "cache_dir", cache.toString()));
            Redactor redactor = new Redactor();
            redactor.add(token);
            redactor.add(wrongToken);
            redactor.add(decoy);
            // The agent lets the contract's token variables go to the test git server's host, and its file://
            // fixtures through, as an operator would with --token-host and --allow-local-repos.
            operations = new Operations(local, null, redactor, new ApiConfigPolicy(TokenHosts.none()
                    .plus(TOKEN_ENV, "127.0.0.1").plus(WRONG_TOKEN_ENV, "127.0.0.1"), true));
        }
        return operations;
    }

    /** The agent's local workspaces are sandboxed: the file API works inside the sandbox, like a container's. */
    @Override
    protected boolean fileApiSpansTheWholeMachine() {
        return true;
    }

    /** The agent's local workspaces are sandboxed: their top holds the host's read-only system directories. */
    @Override
    protected boolean skipWhenWalkingFiles(String path) {
        return java.util.List.of("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "proc", "dev").contains(path);
    }

    /** The wire carries a path error as {@code invalid_request}: the client raises {@code InvalidConfigException}. */
    @Override
    protected boolean pathErrorsAreTyped() {
        return false;
    }

    /** Stops the transport started around {@link #agentOperations(Map)}. */
    protected abstract void stopAgent();

    @AfterAll
    void stopAgentAndBackend() {
        try {
            if (provider != null) {
                provider.close();   // before the agent goes: closes the shared workspace over the wire
            }
            stopAgent();
        } finally {
            if (operations != null) {
                operations.close();
            }
            FileTrees.deleteQuietly(root);
            FileTrees.deleteQuietly(cache);
        }
    }

    /** Checkpoint and restore semantics are the TCK's; this is what only the wire adds. */
    @Test
    void aBlankCheckpointIdIsABadRequestAndAnUnknownOneIsNotFound() {
        try (Workspace ws = provider.create(config("remote-checkpoint").build())) {
            ws.writeString("notes/a.txt", "first");
            String checkpoint = ws.checkpoint();
            assertThatThrownBy(() -> ws.restore(" ")).isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("checkpoint");
            assertThatThrownBy(() -> ws.restore(checkpoint + "-unknown")).isInstanceOf(CheckpointNotFoundException.class)
                    .hasMessageContaining(checkpoint + "-unknown");
            ws.restore(checkpoint);
            assertThat(ws.readString("notes/a.txt")).isEqualTo("first");
        }
    }

    @Test
    void infoNamesTheClientProviderAndAgentInfoTheAgentsBackend() {
        Workspace remote = shared();
        assertThat(RemoteWorkspaces.isRemote(remote)).isTrue();
        assertThat(remote.info().provider()).isEqualTo(providerName());
        assertThat(RemoteWorkspaces.agentInfo(remote).provider()).isEqualTo("local");
        assertThat(RemoteWorkspaces.agentInfo(remote).id()).isEqualTo(remote.info().id());
        assertThat(RemoteWorkspaces.agentInfo(remote).repositories()).isEqualTo(remote.info().repositories());
    }

    @Test
    void listingARegularFileIsAClearErrorNamingIt() {
        shared().writeString("remote-list/file.txt", "x");
        assertThat(shared().listFiles("remote-list")).singleElement()
                .satisfies(e -> assertThat(e.path()).isEqualTo("remote-list/file.txt"));
        assertThatThrownBy(() -> shared().listFiles("remote-list/file.txt"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("remote-list/file.txt");
    }

    private static Path tempDir(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
