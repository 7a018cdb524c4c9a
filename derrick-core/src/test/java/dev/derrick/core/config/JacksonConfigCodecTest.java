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
    void readsTheOriginalToolsConfigsVerbatim() throws Exception {
        WorkspaceConfig withRepo = original("integration-test-config.json");
        assertThat(withRepo.name()).isEqualTo("swiftide-ask");
        assertThat(withRepo.repositories()).singleElement().satisfies(r -> {
            assertThat(r.name()).isEqualTo("swiftide-ask");
            assertThat(r.displayName()).isEqualTo("swiftide-ask");
            assertThat(r.url()).isEqualTo("https://github.com/bosun-ai/swiftide-ask");
            assertThat(r.path()).isEqualTo("code/swiftide-ask");
            assertThat(r.reference()).isNull();
        });
        assertThat(withRepo.setupScript()).isEqualTo("rm /tmp/hello.txt; echo \"Hello World\" > /tmp/hello.txt");
        assertThat(WorkspaceConfig.fromJson(withRepo.toJson(), "round trip")).isEqualTo(withRepo);
        assertThat(withRepo.toJson()).contains("\"name\" : \"swiftide-ask\"");

        WorkspaceConfig empty = original("integration-test-config-empty.json");
        assertThat(empty.name()).isEqualTo("test-123");
        assertThat(empty.repositories()).isEmpty();
        assertThat(original("readme-example-config.json").setupScript()).isEqualTo("echo \"Hello World\"");
    }

    @Test
    void aRepositoryNameDoesNotChangeTheCacheKey() throws Exception {
        WorkspaceConfig named = original("integration-test-config.json");
        WorkspaceConfig unnamed = WorkspaceConfig.builder(named.name())
                .repository(named.repositories().get(0).withName(null)).setupScript(named.setupScript()).build();
        assertThat(dev.derrick.core.cache.CacheKey.of("local", named)).isEqualTo(dev.derrick.core.cache.CacheKey.of("local", unnamed));
        assertThat(unnamed.repositories().get(0).displayName()).isEqualTo("code/swiftide-ask");
    }

    private static WorkspaceConfig original(String resource) throws Exception {
        Path file = Path.of(JacksonConfigCodecTest.class.getResource("/original-derrick/" + resource).toURI());
        return WorkspaceConfig.fromFile(file);
    }

    @Test
    void everyUnknownFieldIsReportedAtOnceWithADidYouMean() {
        String json = """
                {
                  "name": "x",
                  "setup_scirpt": "make",
                  "repositories": [
                    { "url": "https://h/a.git", "path": "a", "refrence": "main" },
                    { "url": "https://h/b.git", "path": "b", "auth": { "token_enV": "T", "tokn_env": "U" } }
                  ],
                  "colour": "blue"
                }
                """;
        assertThatThrownBy(() -> WorkspaceConfig.fromJson(json, "w.json"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageStartingWith("w.json: unknown fields 'setup_scirpt' at line 3, column 3")
                .hasMessageContaining("'setup_scirpt' at line 3, column 3 (did you mean 'setup_script'?)")
                .hasMessageContaining("'refrence' in repositories[0] at line 5, column 46 (did you mean 'reference'?)")
                .hasMessageContaining("'token_enV' in repositories[1].auth")
                .hasMessageContaining("'tokn_env' in repositories[1].auth")
                .hasMessageContaining("(did you mean 'token_env'?)")
                .hasMessageContaining("'colour' at line 8")
                .hasMessageContaining("'colour' at line 8, column 3 (known fields: top level: cache_key_files, env, image,")
                .hasMessageContaining("; repositories[]: auth, name, path, reference, url; repositories[].auth: token, token_env, username)");
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
