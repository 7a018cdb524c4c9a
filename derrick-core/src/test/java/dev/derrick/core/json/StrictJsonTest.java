package dev.derrick.core.json;

import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspaceConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The startup config file and API bodies share one strict parser: no trailing garbage, no type coercion, strict UTF-8. */
class StrictJsonTest {
    @Test
    void trailingGarbageAndWrongTypesAreRefusedInTheConfigFile(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"name\":\"x\"} xyz", "test"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("malformed");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"name\":\"x\"} {}", "test"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("follows");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"name\":5}", "test"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("name");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"name\":true}", "test"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("name");
        Path file = Files.write(dir.resolve("c.json"), new byte[] {'{', '"', 'n', 'a', 'm', 'e', '"', ':', '"',
                (byte) 0xC0, (byte) 0xAF, '"', '}'});
        assertThatThrownBy(() -> WorkspaceConfig.fromFile(file)).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("UTF-8");
        assertThat(WorkspaceConfig.fromJson("{\"name\":\"x\"}\n", "test").name()).isEqualTo("x");
    }
}
