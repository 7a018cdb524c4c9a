package dev.derrick.local.internal.sandbox;

import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sandboxed commands keep none of the provider's supplementary groups: the provider checks once whether nsenter drops
 * them (with a supplementary group given on purpose) and puts {@code setpriv --clear-groups} in front only if not.
 */
class SandboxGroupsIT {
    @Test
    void nsenterIsProbedWithARealSupplementaryGroupAndCommandsHaveNone() throws Exception {
        SandboxSupport support = SandboxSupport.detect(null, List.of());
        assertThat(support.available()).as(String.valueOf(support.unavailableReason())).isTrue();
        assertThat(support.root()).as("the suite runs as root").isTrue();
        // util-linux 2.38 (Debian 12) drops them: no setpriv per command
        assertThat(support.needsSetpriv()).isFalse();

        Path root = Files.createTempDirectory("derrick-groups-it");
        try (WorkspaceProvider provider = WorkspaceProviders.open("local", Map.of("root", root.toString(),
                "isolation", "sandbox", "cache", "false"));
             Workspace ws = provider.create(WorkspaceConfig.builder("groups").build())) {
            String status = ws.exec("grep -E '^(Uid|Gid|Groups):' /proc/self/status").orThrow().stdout();
            assertThat(status).containsPattern("(?m)^Groups:\\s*$").containsPattern("(?m)^Uid:\\s+59999\\s")
                    .containsPattern("(?m)^Gid:\\s+59999\\s");
        } finally {
            dev.derrick.local.internal.TreeDeleter.delete(root);
        }
    }
}
