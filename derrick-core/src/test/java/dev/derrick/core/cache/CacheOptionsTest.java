package dev.derrick.core.cache;

import dev.derrick.api.spi.ProviderOptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CacheOptionsTest {
    static CacheOptions parse(Map<String, ?> options, Map<String, String> env) {
        return CacheOptions.parse(ProviderOptions.of("local", options, CacheOptions.KEYS), env);
    }

    @Test
    void defaults() {
        CacheOptions o = parse(Map.of(), Map.of());
        assertThat(o.enabled()).isTrue();
        assertThat(o.dir()).isEqualTo(Path.of(System.getProperty("user.home"), ".cache", "derrick"));
        // Bounded by default, so ~/.cache/derrick does not grow forever.
        assertThat(o.eviction()).isEqualTo(new EvictionPolicy(Duration.ofDays(30), 10L << 30));
        assertThat(o.eviction().describe()).isEqualTo("at most 10.0 GiB, entries unused for 30d removed");
        assertThat(parse(Map.of(), Map.of("XDG_CACHE_HOME", "/x")).dir()).isEqualTo(Path.of("/x/derrick"));
        assertThat(parse(Map.of(), Map.of("DERRICK_CACHE_DIR", "/d", "XDG_CACHE_HOME", "/x")).dir()).isEqualTo(Path.of("/d"));
    }

    @Test
    void noneTurnsABoundOff() {
        CacheOptions o = parse(Map.of("cache_max_bytes", "none", "cache_max_age", "none"), Map.of());
        assertThat(o.eviction().bounded()).isFalse();
        assertThat(o.eviction().describe()).isEqualTo("unbounded");
        assertThat(parse(Map.of("cache_max_age", "14d"), Map.of()).eviction())
                .isEqualTo(new EvictionPolicy(Duration.ofDays(14), 10L << 30));
        assertThat(parse(Map.of("cache_max_bytes", "0"), Map.of()).eviction().maxBytes()).isZero();
    }

    @Test
    void parsesEverything() {
        CacheOptions o = parse(Map.of("cache", "false", "cache_dir", "/c", "cache_max_bytes", "2g", "cache_max_age", "PT1H"), Map.of());
        assertThat(o.enabled()).isFalse();
        assertThat(o.dir()).isEqualTo(Path.of("/c"));
        assertThat(o.eviction()).isEqualTo(new EvictionPolicy(Duration.ofHours(1), 2L << 30));
    }

    @Test
    void sizesAndDurations() {
        assertThat(CacheOptions.parseSize("512m", "x")).isEqualTo(512L << 20);
        assertThat(CacheOptions.parseSize("1024", "x")).isEqualTo(1024);
        assertThat(CacheOptions.parseDuration("14d", "x")).isEqualTo(Duration.ofDays(14));
        assertThat(CacheOptions.parseDuration("90", "x")).isEqualTo(Duration.ofSeconds(90));
        assertThat(CacheOptions.parseDuration("P2D", "x")).isEqualTo(Duration.ofDays(2));
        assertThatThrownBy(() -> CacheOptions.parseSize("lots", "--keep-size")).hasMessageContaining("--keep-size")
                .hasMessageContaining("lots");
        assertThatThrownBy(() -> CacheOptions.parseDuration("soon", "--older-than")).hasMessageContaining("--older-than");
    }
}
