package dev.derrick.local;

import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.WorkspaceConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Unsandboxed commands share the host's network: a config asking for "off" in any phase is refused, not ignored. */
class UnsandboxedNetworkTest {
    @TempDir
    Path root;

    @Test
    void networkOffIsRefusedWithoutASandboxAndLeavesNothingBehind() throws IOException {
        try (LocalWorkspaceProvider provider = new LocalWorkspaceProvider(LocalProviderFactory.settings(
                Map.of("root", root.toString(), "environment", Map.of(), "isolation", "none")))) {
            for (NetworkPolicy p : new NetworkPolicy[]{NetworkPolicy.OFF, new NetworkPolicy(true, false),
                    new NetworkPolicy(false, true)}) {
                assertThatThrownBy(() -> provider.create(WorkspaceConfig.builder("offline").network(p).build()))
                        .isInstanceOf(InvalidConfigException.class)
                        .hasMessageContaining("network " + p)
                        .hasMessageContaining("isolation=none");
            }
            assertThat(provider.list()).isEmpty();
        }
        try (Stream<Path> left = Files.list(root)) {
            assertThat(left.filter(p -> p.getFileName().toString().startsWith("local-"))).isEmpty();
        }
    }
}
