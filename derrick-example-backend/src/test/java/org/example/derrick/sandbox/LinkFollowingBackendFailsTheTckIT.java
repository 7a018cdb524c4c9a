package org.example.derrick.sandbox;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.tck.WorkspaceProviderContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

/**
 * The TCK catches a backend whose file API follows a symbolic link out of the workspace: the sandbox backend with its
 * file operations replaced by the naive {@code root.resolve(path)} + {@code Files.readAllBytes} fails the TCK's link
 * test, while the real sandbox backend passes it (SandboxProviderIT).
 */
class LinkFollowingBackendFailsTheTckIT {
    private static final String LINK_TEST = "symbolicLinksPointingOutOfTheWorkspaceAreNeverFollowedByTheFileApi";

    @Test
    void aBackendThatFollowsLinksOutOfTheWorkspaceFailsTheTck() {
        Events tests = EngineTestKit.engine("junit-jupiter")
                .selectors(selectMethod(NaiveContract.class, LINK_TEST))
                .execute().testEvents();
        tests.assertStatistics(stats -> stats.started(1).failed(1));
        assertThat(tests.failed().stream().findFirst().orElseThrow().getPayload(
                org.junit.platform.engine.TestExecutionResult.class).orElseThrow().getThrowable().orElseThrow())
                .isInstanceOf(AssertionError.class).hasMessageContaining("Expecting code to raise a throwable"); // the read through a link succeeded
    }

    @Test
    void theRealSandboxBackendPassesTheSameTest() {
        EngineTestKit.engine("junit-jupiter")
                .selectors(selectMethod(SandboxProviderIT.class, LINK_TEST))
                .execute().testEvents()
                .assertStatistics(stats -> stats.started(1).succeeded(1));
    }

    /** The TCK against the sandbox backend with link-following file operations. */
    static class NaiveContract extends WorkspaceProviderContract {
        private final Path root;

        private final Path cache;

        NaiveContract() throws IOException {
            root = Files.createTempDirectory("naive-tck-");
            cache = Files.createTempDirectory("naive-tck-cache-");
        }

        @Override
        protected String providerName() {
            return SandboxProviderFactory.NAME;
        }

        @Override
        protected boolean supportsCheckpoints() {
            return false;   // NaiveFiles does not pass checkpoint() on
        }

        @Override
        protected Map<String, Object> providerOptions(Map<String, String> environment) {
            return Map.of("environment", environment, "root", root.toString(), "cache_dir", cache.toString());
        }

        @Override
        protected WorkspaceProvider openProvider(Map<String, String> environment) {
            return new Following(WorkspaceProviders.open(providerName(), providerOptions(environment)));
        }

        @AfterAll
        void removeDirectories() throws IOException {
            provider.close();   // before the contract's own (idempotent) teardown
            Trees.delete(root);
            Trees.delete(cache);
        }
    }

    /** Hands out workspaces whose file operations follow every link. */
    record Following(WorkspaceProvider inner) implements WorkspaceProvider {
        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public Workspace create(WorkspaceConfig config, ProgressListener progress) {
            return new NaiveFiles(inner.create(config, progress));
        }

        @Override
        public List<Workspace> list() {
            return inner.list().stream().<Workspace>map(NaiveFiles::new).toList();
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    /** The file API a hurried author writes: resolve under the root and go, links and all. */
    record NaiveFiles(Workspace inner) implements Workspace {
        private Path file(String path) {
            return Path.of(inner.info().root()).resolve(path.startsWith("/") ? path.substring(1) : path);
        }

        @Override
        public String id() {
            return inner.id();
        }

        @Override
        public WorkspaceInfo info() {
            return inner.info();
        }

        @Override
        public ExecResult exec(ExecRequest request, OutputListener listener) {
            return inner.exec(request, listener);
        }

        @Override
        public byte[] readFile(String path) {
            try {
                return Files.readAllBytes(file(path));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void writeFile(String path, byte[] content) {
            try {
                Files.createDirectories(file(path).getParent());
                Files.write(file(path), content);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public List<FileEntry> listFiles(String path) {
            try (Stream<Path> s = Files.list(file(path))) {
                return s.map(p -> new FileEntry(p.getFileName().toString(), p.toString(), Files.isDirectory(p), 0)).toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
