package dev.derrick.core.cache;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CacheKeyTest {
    static WorkspaceConfig.Builder base() {
        return WorkspaceConfig.builder("demo")
                .repository(RepositoryConfig.of("https://git.example/a.git", "code/a").withReference("main"))
                .setupScript("make deps")
                .env("CI", "true").env("A", "1");
    }

    @Test
    void isStableAndDocumented() {
        CacheKey key = CacheKey.of("local", base().build());
        // A fixed value: the encoding is part of the on-disk format and must not drift by accident.
        assertThat(key.hex()).hasSize(64).isEqualTo(CacheKey.of("local", base().build()).hex());
        assertThat(key.shortHex()).isEqualTo(key.hex().substring(0, 12));
        assertThat(key).isEqualTo(CacheKey.of("local", base().build()));
        assertThat(key.hex()).isEqualTo(KNOWN);
    }

    static final String KNOWN = "590c5a4865a3af1f5ea335dc6d532bf407a65e5c8d2c427fee4555882d57908d";

    @Test
    void envOrderNameAuthAndUpdateScriptDoNotMatter() {
        WorkspaceConfig reordered = WorkspaceConfig.builder("other-name")
                .repository(RepositoryConfig.of("https://git.example/a.git", "/code/a/").withReference("main")
                        .withAuth(GitAuth.fromEnv("TOKEN")))
                .setupScript("make deps")
                .env("A", "1").env("CI", "true")
                .updateScript("make update").cacheKeyFile("pom.xml")
                .build();
        assertThat(CacheKey.of("local", reordered)).isEqualTo(CacheKey.of("local", base().build()));
    }

    @Test
    void everythingThatShapesTheStateChangesTheKey() {
        CacheKey key = CacheKey.of("local", base().build());
        assertThat(CacheKey.of("docker", base().build())).isNotEqualTo(key);
        assertThat(CacheKey.of("local", base().image("debian").build())).isNotEqualTo(key);
        assertThat(CacheKey.of("local", base().setupScript("make deps ").build())).isNotEqualTo(key);
        assertThat(CacheKey.of("local", base().env("CI", "false").build())).isNotEqualTo(key);
        assertThat(CacheKey.of("local", base().env("B", "").build())).isNotEqualTo(key);
        assertThat(CacheKey.of("local", base().repository("https://git.example/b.git", "code/b").build())).isNotEqualTo(key);
        WorkspaceConfig otherRef = WorkspaceConfig.builder("demo")
                .repository(RepositoryConfig.of("https://git.example/a.git", "code/a").withReference("dev"))
                .setupScript("make deps").env("CI", "true").env("A", "1").build();
        assertThat(CacheKey.of("local", otherRef)).isNotEqualTo(key);
        WorkspaceConfig noRef = WorkspaceConfig.builder("demo")
                .repository(RepositoryConfig.of("https://git.example/a.git", "code/a"))
                .setupScript("make deps").env("CI", "true").env("A", "1").build();
        assertThat(CacheKey.of("local", noRef)).isNotEqualTo(key);
    }

    @Test
    void fieldsCannotBleedIntoEachOther() {
        // Length-prefixed: moving a character from the script into an env value gives another key.
        WorkspaceConfig a = WorkspaceConfig.builder("x").setupScript("ab").env("K", "c").build();
        WorkspaceConfig b = WorkspaceConfig.builder("x").setupScript("a").env("K", "bc").build();
        assertThat(CacheKey.of("local", a)).isNotEqualTo(CacheKey.of("local", b));
    }

    @Test
    void rejectsMalformedHex() {
        assertThatThrownBy(() -> new CacheKey("abc")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a cache key");
    }
}
