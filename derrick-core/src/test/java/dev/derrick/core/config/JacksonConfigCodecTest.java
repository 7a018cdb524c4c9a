package dev.derrick.core.config;

import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspaceConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JacksonConfigCodecTest {
    @TempDir
    Path tmp;

    @Test
    void readsTheOriginalFormatAndTheExtensions() throws IOException {
        Path file = tmp.resolve("workspace.json");
        Files.writeString(file, """
                {
                  "name": "swiftide-ask",
                  "repositories": [
                    { "url": "https://git.example.com/org/repo.git", "path": "/code/repo", "reference": "main",
                      "auth": { "token_env": "GITHUB_TOKEN" } }
                  ],
                  "setup_script": "echo \\"Hello World\\" > /tmp/hello.txt",
                  "env": { "CI": "true" },
                  "image": "debian:bookworm-slim",
                  "update_script": "make deps",
                  "cache_key_files": ["pom.xml"]
                }
                """);
        WorkspaceConfig config = WorkspaceConfig.fromFile(file);
        assertThat(config.name()).isEqualTo("swiftide-ask");
        assertThat(config.repositories()).singleElement().satisfies(r -> {
            assertThat(r.path()).isEqualTo("code/repo");
            assertThat(r.reference()).isEqualTo("main");
            assertThat(r.auth().tokenEnv()).isEqualTo("GITHUB_TOKEN");
            assertThat(r.auth().username()).isEqualTo("x-access-token");
        });
        assertThat(config.setupScript()).isEqualTo("echo \"Hello World\" > /tmp/hello.txt");
        assertThat(config.env()).containsEntry("CI", "true");
        assertThat(config.image()).isEqualTo("debian:bookworm-slim");
        assertThat(config.cacheKeyFiles()).containsExactly("pom.xml");
        assertThat(WorkspaceConfig.fromJson(config.toJson(), "round trip")).isEqualTo(config);
    }

    @Test
    void missingFileIsNamed() {
        assertThatThrownBy(() -> WorkspaceConfig.fromFile(tmp.resolve("nope.json")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessage("workspace config file not found: " + tmp.resolve("nope.json"));
    }

    @Test
    void malformedJsonHasLineAndColumn() {
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\n  \"name\": \"x\",\n  \"repositories\": [,]\n}", "w.json"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageStartingWith("w.json: malformed JSON at line 3, column");
    }

    @Test
    void unknownFieldIsNamedWithTheKnownOnes() {
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"name\": \"x\",\n \"setup\": \"make\"}", "w.json"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("w.json: unknown field 'setup' at line 2")
                .hasMessageContaining("setup_script");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson(
                "{\"name\": \"x\", \"repositories\": [{\"url\": \"u\", \"path\": \"p\", \"branch\": \"main\"}]}", "w.json"))
                .hasMessageContaining("unknown field 'branch' in repositories");
    }

    @Test
    void missingOrWrongFieldsAreNamed() {
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"repositories\": []}", "w.json"))
                .hasMessageContaining("w.json: required field 'name' is missing");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"name\": \"x\", \"repositories\": {}}", "w.json"))
                .hasMessageContaining("field 'repositories' has the wrong type").hasMessageContaining("an array");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"name\": \"x\", \"repositories\": [{\"url\": \"u\"}]}", "w.json"))
                .hasMessageContaining("repositories[0]").hasMessageContaining("no 'path'");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson(
                "{\"name\": \"x\", \"repositories\": [{\"url\": \"u\", \"path\": \"../out\"}]}", "w.json"))
                .hasMessageContaining("climbs out of the workspace root");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson(
                "{\"name\": \"x\", \"repositories\": [{\"url\": \"https://u:secret@h/r.git\", \"path\": \"r\"}]}", "w.json"))
                .hasMessageContaining("carries credentials").satisfies(e -> assertThat(e.getMessage()).doesNotContain("secret"));
        assertThatThrownBy(() -> WorkspaceConfig.fromJson(
                "{\"name\": \"x\", \"repositories\": [{\"url\": \"u\", \"path\": \"r\", \"auth\": {}}]}", "w.json"))
                .hasMessageContaining("token_env");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("", "w.json")).hasMessageContaining("w.json: empty");
    }
}
