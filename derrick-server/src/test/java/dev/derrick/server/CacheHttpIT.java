package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.pool.WorkspacePool;
import dev.derrick.core.Redactor;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** POST /workspaces/{id}/fetch and /reset answered by the local provider's cache, over real HTTP. */
@Timeout(120)
class CacheHttpIT {
    static final String TOKEN = "tok-" + UUID.randomUUID();

    @TempDir
    Path tmp;

    GitTestServer git;
    Operations operations;
    HttpApiServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (operations != null) {
            operations.close();
        }
        if (git != null) {
            git.close();
        }
    }

    @Test
    void fetchAndResetWorkOverHttp() throws Exception {
        git = GitTestServer.start(TOKEN);
        git.createRepository("app", Map.of("README.md", "hello\n"));
        WorkspaceConfig config = WorkspaceConfig.builder("http-cache")
                .repository(RepositoryConfig.of(git.url("app"), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo built > built.txt").build();
        operations = new Operations(WorkspaceProviders.open("local", Map.of("root", tmp.resolve("ws").toString(),
                "cache_dir", tmp.resolve("cache").toString(),
                "environment", Map.of("GIT_TOKEN", TOKEN, "PATH", System.getenv("PATH")))), config, new Redactor());
        server = HttpApiServer.builder(operations).port(0).start();
        ApiClient api = new ApiClient(server.uri(), null);

        String id = api.create("{}");
        api.cmd(id, "echo edited > code/app/README.md && rm built.txt && echo new > outside.txt");
        assertThat(api.send("POST", "/workspaces/" + id + "/reset", "{}").statusCode()).isEqualTo(200);
        assertThat(api.cmd(id, "cat code/app/README.md built.txt; test -e outside.txt && echo present || echo absent").get("output").asText())
                .isEqualTo("hello\nbuilt\nabsent\n");

        String before = api.ok("GET", "/workspaces/" + id, null).get("repositories").get(0).get("commit").asText();
        String pushed = git.commit("app", Map.of("NEW.md", "new\n"), "new");
        JsonNode fetched = api.ok("POST", "/workspaces/" + id + "/fetch", "{}");
        String text = fetched.toString();
        assertThat(text).contains("\"code/app\"").contains(before).contains(pushed).contains("true");
        assertThat(text).doesNotContain(TOKEN);
        assertThat(api.cmd(id, "cat code/app/NEW.md").get("output").asText()).isEqualTo("new\n");
        assertThat(api.ok("GET", "/workspaces/" + id, null).get("cache_entry").asText()).isNotBlank();
    }

    @Test
    void forkOverHttpAnswersNewIdsWithTheSourcesFilesAndRefusesABadCount() throws Exception {
        git = GitTestServer.start(TOKEN);
        git.createRepository("app", Map.of("README.md", "hello\n"));
        WorkspaceConfig config = WorkspaceConfig.builder("http-fork")
                .repository(RepositoryConfig.of(git.url("app"), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo built > built.txt").build();
        operations = new Operations(WorkspaceProviders.open("local", Map.of("root", tmp.resolve("ws").toString(),
                "cache_dir", tmp.resolve("cache").toString(),
                "environment", Map.of("GIT_TOKEN", TOKEN, "PATH", System.getenv("PATH")))), config, new Redactor());
        server = HttpApiServer.builder(operations).port(0).start();
        ApiClient api = new ApiClient(server.uri(), null);

        String id = api.create("{}");
        api.cmd(id, "echo forked-state > /tmp/state.txt");
        JsonNode ids = api.ok("POST", "/workspaces/" + id + "/fork", "{\"count\": 2}").get("ids");
        assertThat(ids).hasSize(2);
        for (JsonNode fork : ids) {
            assertThat(fork.asText()).isNotEqualTo(id);
            assertThat(api.cmd(fork.asText(), "cat /tmp/state.txt built.txt").get("output").asText())
                    .isEqualTo("forked-state\nbuilt\n");
        }
        assertThat(api.ok("GET", "/workspaces", null).get("workspaces")).hasSize(3);
        var zero = api.send("POST", "/workspaces/" + id + "/fork", "{\"count\": 0}");
        assertThat(zero.statusCode()).isEqualTo(400);
        assertThat(new String(zero.body(), java.nio.charset.StandardCharsets.UTF_8)).contains("fork count must be between 1 and 64, got 0");
        assertThat(api.send("POST", "/workspaces/" + id + "/fork", "{}").statusCode()).isEqualTo(400);
        assertThat(api.send("POST", "/workspaces/nope/fork", "{\"count\": 1}").statusCode()).isEqualTo(404);
    }

    @Test
    void withAPoolACreateClaimsAReadyWorkspaceAndItsEnvGoesToTheCommandsOnly() throws Exception {
        git = GitTestServer.start(TOKEN);
        git.createRepository("app", Map.of("README.md", "hello\n"));
        WorkspaceConfig config = WorkspaceConfig.builder("http-pool")
                .repository(RepositoryConfig.of(git.url("app"), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo \"[$MODEL]\" > setup-env.txt").build();
        WorkspaceProvider provider = WorkspaceProviders.open("local", Map.of("root", tmp.resolve("ws").toString(),
                "cache_dir", tmp.resolve("cache").toString(), "pool", 1,
                "environment", Map.of("GIT_TOKEN", TOKEN, "PATH", System.getenv("PATH"))));
        WorkspacePool pool = (WorkspacePool) provider;
        operations = new Operations(provider, config, new Redactor());
        server = HttpApiServer.builder(operations).port(0).start();
        ApiClient api = new ApiClient(server.uri(), null);

        String first = api.create("{\"env\": {\"MODEL\": \"a\"}}");
        pool.awaitIdle(java.time.Duration.ofSeconds(60));
        assertThat(api.ok("GET", "/workspaces", null).get("workspaces")).as("the ready one is not listed").hasSize(1);
        String second = api.create("{\"env\": {\"MODEL\": \"b\"}}");
        assertThat(pool.stats().hits()).as("one pool, whatever the env").isEqualTo(1);
        assertThat(api.cmd(second, "cat setup-env.txt; echo \"$MODEL\"").get("output").asText()).isEqualTo("[]\nb\n");
        assertThat(api.cmd(first, "echo \"$MODEL\"").get("output").asText()).isEqualTo("a\n");
        assertThat(api.send("DELETE", "/workspaces/" + second, null).statusCode()).isEqualTo(200);
        assertThat(api.send("GET", "/workspaces/" + second, null).statusCode()).isEqualTo(404);
    }
}
