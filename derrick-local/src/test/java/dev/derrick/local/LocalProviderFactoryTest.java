package dev.derrick.local;

import dev.derrick.api.WorkspaceProviders;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalProviderFactoryTest {
    @Test
    void isFoundByNameThroughTheServiceLoader() {
        assertThat(WorkspaceProviders.available()).contains("local");
        assertThat(WorkspaceProviders.factory("LOCAL")).isInstanceOf(LocalProviderFactory.class);
        assertThat(WorkspaceProviders.factory("local").supportedOptions())
                .containsExactlyInAnyOrder("root", "max_output_bytes", "default_timeout", "setup_timeout", "environment",
                        "cache", "cache_dir", "cache_max_bytes", "cache_max_age", "cache_mode", "isolation", "sandbox_uid",
                        "sandbox_ro_paths", "bwrap", "require_fresh", "network_host_loopback", "memory", "cpus", "pids", "pool");
    }

    @Test
    void isolationIsAutoByDefaultAndParsedOrRefusedWithTheValuesNamed() {
        assertThat(LocalProviderFactory.settings(Map.of()).isolation()).isEqualTo(Isolation.AUTO);
        LocalWorkspaceProvider.Settings s = LocalProviderFactory.settings(Map.of("isolation", "Sandbox", "sandbox_uid", "61000",
                "sandbox_ro_paths", "/opt, /srv/tools"));
        assertThat(s.isolation()).isEqualTo(Isolation.SANDBOX);
        assertThat(s.sandboxUid()).isEqualTo(61000);
        assertThat(s.sandboxReadOnly()).containsExactly(Path.of("/opt"), Path.of("/srv/tools"));
        assertThat(LocalProviderFactory.settings(Map.of("isolation", "none")).isolation()).isEqualTo(Isolation.NONE);
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("isolation", "jail")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sandbox, none or auto").hasMessageContaining("jail");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("sandbox_uid", "0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sandbox_uid");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("sandbox_ro_paths", "opt")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("absolute");
    }

    @Test
    void limitsAndHostLoopbackAreParsedLikeDockersAndBadValuesNameTheOption() {
        LocalWorkspaceProvider.Settings s = LocalProviderFactory.settings(Map.of("memory", "512m", "cpus", "1.5",
                "pids", 100, "network_host_loopback", "true"));
        assertThat(s.limits()).isEqualTo(new dev.derrick.core.limits.ResourceLimits(512L << 20, 1.5, 100));
        assertThat(s.networkHostLoopback()).isTrue();
        LocalWorkspaceProvider.Settings d = LocalProviderFactory.settings(Map.of());
        assertThat(d.limits().isEmpty()).isTrue();
        assertThat(d.networkHostLoopback()).isFalse();
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("memory", "lots")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'memory'").hasMessageContaining("lots");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("cpus", "many")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'cpus'");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("pids", "3")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'pids'").hasMessageContaining("at least 8");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("pids", "-1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'pids'");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("network_host_loopback", "maybe")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("network_host_loopback");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("isolation", "none", "memory", "1g")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("isolation=none")
                .hasMessageContaining("memory=1g");
    }

    @Test
    void defaultsAreTheTempDirectoryFourMebibytesAndTheJvmEnvironment() {
        LocalWorkspaceProvider.Settings s = LocalProviderFactory.settings(Map.of());
        assertThat(s.root()).isEqualTo(Path.of(System.getProperty("java.io.tmpdir"), "derrick-workspaces"));
        assertThat(s.maxOutputBytes()).isEqualTo(4L * 1024 * 1024);
        assertThat(s.defaultTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(s.setupTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(s.environment()).isEqualTo(System.getenv());
    }

    @Test
    void optionsAreParsedFromStringsOrTypedValues() {
        LocalWorkspaceProvider.Settings s = LocalProviderFactory.settings(Map.of(
                "root", "/srv/ws", "max_output_bytes", "1024", "default_timeout", "PT30S", "setup_timeout", 90,
                "environment", Map.of("GIT_TOKEN", "t0ken-value")));
        assertThat(s.root()).isEqualTo(Path.of("/srv/ws"));
        assertThat(s.maxOutputBytes()).isEqualTo(1024);
        assertThat(s.defaultTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.setupTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(s.environment()).containsOnlyKeys("GIT_TOKEN");
        assertThat(s.toString()).doesNotContain("t0ken-value");
    }

    @Test
    void badOptionsNameTheOption() {
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("roots", "/x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("roots").hasMessageContaining("supported");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("max_output_bytes", 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_output_bytes");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("setup_timeout", "soon")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("setup_timeout");
        assertThatThrownBy(() -> LocalProviderFactory.settings(Map.of("environment", "PATH=/bin")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("environment");
    }
}
