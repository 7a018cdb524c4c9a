package dev.derrick.examples;

import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs the embedding example against real providers and a real token-protected git server, and checks what it printed. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class EmbeddingExampleTest {
    private static final String TOKEN = "embedding-example-token-7d2e";
    private static GitTestServer git;

    @BeforeAll
    static void startGit() {
        git = GitTestServer.start(TOKEN);
        git.createRepository("demo", Map.of("README.md", "# demo\n",
                "build.sh", "echo compiling\necho 'warning: nothing to do' >&2\necho BUILD OK\n"));
    }

    @AfterAll
    static void stopGit() {
        git.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "sandbox"})
    void runsTheWholeStoryAgainst(String provider, @TempDir Path dir) throws Exception {
        Path config = dir.resolve("workspace.json");
        Files.writeString(config, """
                {
                  "name": "embedding-test",
                  "repositories": [ { "url": "%s", "path": "code/demo", "auth": { "token": "%s" } } ],
                  "setup_script": "echo ready > setup.log"
                }
                """.formatted(git.url("demo"), TOKEN));
        String out = capture(s -> EmbeddingExample.run(provider, config, s));

        assertThat(out).contains("[setup] clone code/demo")
                .containsPattern("workspace \\S+ at /")
                .contains("[STDOUT] compiling", "[STDERR] warning: nothing to do", "[STDOUT] BUILD OK")
                .contains("build exit 0 in ")
                .contains("git status: ?? NOTES.md")
                .containsPattern("fetch(: not supported by " + provider + "| code/demo: up-to-date)")
                .containsPattern("reset: (NOTES.md gone|not supported by " + provider + ")")
                .endsWith("closed\n")
                .doesNotContain(TOKEN);
    }

    @Test
    void mainRunsOfflineWithItsOwnDemoRepository() throws Exception {
        String out = capture(s -> {
            PrintStream original = System.out;
            System.setOut(s);
            try {
                EmbeddingExample.main(new String[] {"sandbox"});
            } catch (Exception e) {
                throw new AssertionError(e);
            } finally {
                System.setOut(original);
            }
        });
        assertThat(out).contains("[STDOUT] BUILD OK", "build exit 0", "fetch code/demo: up-to-date", "reset: NOTES.md gone", "closed");
    }

    private static String capture(java.util.function.Consumer<PrintStream> body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream s = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            body.accept(s);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
