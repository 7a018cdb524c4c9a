package dev.derrick.core.limits;

import dev.derrick.api.spi.ProviderOptions;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ResourceLimitsTest {
    private static ResourceLimits parse(Map<String, ?> options) {
        return ResourceLimits.parse(ProviderOptions.of("local", options, Set.of("memory", "cpus", "pids")), "local");
    }

    @Test
    void dockersFormats() {
        ResourceLimits l = parse(Map.of("memory", "512m", "cpus", "1.5", "pids", 256));
        assertThat(l.memoryBytes()).isEqualTo(512L << 20);
        assertThat(l.nanoCpus()).isEqualTo(1_500_000_000L);
        assertThat(l.cfsQuotaUs()).isEqualTo(150_000);
        assertThat(l.pids()).isEqualTo(256);
        assertThat(l).hasToString("memory=512m, cpus=1.5, pids=256");
        assertThat(parse(Map.of("memory", "2GiB")).memoryBytes()).isEqualTo(2L << 30);
        assertThat(parse(Map.of("memory", "1.5g")).memoryBytes()).isEqualTo(3L << 29);
        assertThat(parse(Map.of()).isEmpty()).isTrue();
        assertThat(parse(Map.of())).hasToString("none");
        assertThat(parse(Map.of("cpus", "0.001")).cfsQuotaUs()).isEqualTo(1000);
    }

    @Test
    void badValuesNameTheOption() {
        assertThatThrownBy(() -> parse(Map.of("memory", "lots"))).hasMessage(
                "option 'memory' of provider 'local' must be a size like 512m or 2g, got 'lots'");
        assertThatThrownBy(() -> parse(Map.of("memory", "1k"))).hasMessageContaining("must be at least 4m");
        assertThatThrownBy(() -> parse(Map.of("cpus", "-1"))).hasMessageContaining("option 'cpus' of provider 'local'");
        assertThatThrownBy(() -> parse(Map.of("pids", "1.5"))).hasMessageContaining("option 'pids' of provider 'local'");
        assertThatThrownBy(() -> parse(Map.of("cpus", "NaN"))).hasMessageContaining("option 'cpus'");
    }
}
