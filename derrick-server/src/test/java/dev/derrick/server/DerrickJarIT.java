package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.derrick.server.HttpApiServerTest.assertError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The packaged {@code derrick.jar} in local mode as a child process, driven over HTTP with java.net.http: the
 * original tool's integration flow, then errors, auth, limits, concurrency and shutdown.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DerrickJarIT {
    private static final String GIT_TOKEN = "git-secret-token-4711";
    private static GitTestServer git;

    @TempDir
    Path dir;

    @BeforeAll
    static void gitServer() throws Exception {
        git = GitTestServer.start(GIT_TOKEN);
        git.createRepository("swiftide-ask", Map.of("Cargo.toml", "[package]\nname = \"swiftide-ask\"\n",
                "src/main.rs", "fn main() {}\n"));
    }

    @AfterAll
    static void stopGit() {
        if (git != null) {
            git.close();
        }
    }

    private Path config() throws IOException {
        String json = "{\n"
                + "  \"name\": \"test-123\",\n"
                + "  \"repositories\": [{\"url\": \"" + git.url("swiftide-ask") + "\", \"path\": \"/code/swiftide-ask\",\n"
                + "                      \"auth\": {\"token_env\": \"IT_GIT_TOKEN\"}}],\n"
                + "  \"setup_script\": \"rm -f tmp/hello.txt; mkdir -p tmp && echo \\\"Hello World\\\" > tmp/hello.txt\"\n"
                + "}\n";
        return Files.writeString(dir.resolve("test_config.json"), json);
    }

    private DerrickProcess launch(Map<String, String> extraEnv) throws Exception {
        Map<String, String> env = new java.util.HashMap<>(extraEnv);
        env.put("IT_GIT_TOKEN", GIT_TOKEN);
        int port = DerrickProcess.freePort();
        return DerrickProcess.start(dir, env, List.of("-p", "local", "-s", "http", "-w", config().toString(),
                "--port", String.valueOf(port), "--cache-dir", dir.resolve("cache").toString()), port)
                .awaitHealthy(Duration.ofSeconds(60));
    }

    @Test
    void originalFlowOverHttp() throws Exception {
        try (DerrickProcess derrick = launch(Map.of())) {
            ApiClient api = new ApiClient(derrick.uri(), null);
            assertThat(api.ok("GET", "/workspaces", null).get("workspaces")).isEmpty();

            String id = api.create("{\"env\": {}}");
            assertThat(api.ok("GET", "/workspaces", null).get("workspaces").get(0).get("id").asText()).isEqualTo(id);
            JsonNode info = api.ok("GET", "/workspaces/" + id, null);
            assertThat(info.get("repositories").get(0).get("path").asText()).isEqualTo("code/swiftide-ask");
            assertThat(info.toString()).doesNotContain(GIT_TOKEN);

            JsonNode r = api.cmd(id, "echo hello");
            assertThat(r.get("output").asText()).isEqualTo("hello\n");
            assertThat(r.get("exit_code").asInt()).isZero();

            assertThat(api.cmd(id, "ls ./code/swiftide-ask").get("output").asText()).contains("Cargo.toml");
            assertThat(api.cmd(id, "cd ./code/swiftide-ask && ls").get("output").asText()).contains("Cargo.toml");
            assertThat(api.cmd(id, "echo hello\necho world").get("output").asText()).contains("hello\nworld\n");
            assertThat(api.cmd(id, "cat tmp/hello.txt").get("output").asText()).contains("Hello World");
            assertThat(api.ok("POST", "/workspaces/" + id + "/cmd_with_output",
                    "{\"cmd\": \"echo $HELLO\", \"env\": {\"HELLO\": \"WORLD\"}}").get("output").asText()).contains("WORLD");
            String heredoc = "cat <<-\"EOF\" > tmp/heredoc.txt\nhello\nworld\nEOF\ncat tmp/heredoc.txt\n";
            JsonNode h = api.cmd(id, heredoc);
            assertThat(h.get("output").asText()).contains("hello\nworld\n");
            assertThat(h.get("exit_code").asInt()).isZero();

            JsonNode failed = api.cmd(id, "ls /nonexistent/directory");
            assertThat(failed.get("exit_code").asInt()).isEqualTo(2);
            assertThat(failed.get("output").asText()).contains("No such file or directory");

            // the token never reaches the workspace
            // every file of the workspace (in a sandbox, / is the workspace; the host's /usr, /etc, … and /proc are not its files)
            String search = api.cmd(id, "grep -rl \"$(printf '%s' 'git-secret-token')\" $(ls -A | grep -vxE 'usr|etc|bin|sbin|lib|lib32|lib64|libx32|proc|dev') || echo none; env").get("output").asText();
            assertThat(search).startsWith("none\n").doesNotContain(GIT_TOKEN);

            // write_file (Ruby Base64.encode64 style) + read_file raw bytes
            String content = "Hello, world!";
            String encoded = Base64.getMimeEncoder().encodeToString(content.getBytes(StandardCharsets.UTF_8)) + "\n";
            JsonNode written = api.ok("POST", "/workspaces/" + id + "/write_file",
                    "{\"path\": \"/tmp/test.txt\", \"content\": " + ApiClient.quote(encoded) + "}");
            assertThat(written.get("error")).isNull();
            HttpResponse<byte[]> read = api.send("POST", "/workspaces/" + id + "/read_file", "{\"path\": \"/tmp/test.txt\"}");
            assertThat(read.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
            assertThat(new String(read.body(), StandardCharsets.UTF_8)).isEqualTo(content);

            assertError(api.send("POST", "/workspaces/" + id + "/read_file", "{\"path\": \"no/such.txt\"}"), 404,
                    "file_not_found", "such");

            // fetch: a new upstream commit reaches the clean checkout
            git.commit("swiftide-ask", Map.of("NEW.md", "new\n"), "upstream change");
            JsonNode fetched = api.ok("POST", "/workspaces/" + id + "/fetch", "{}");
            JsonNode repo = fetched.get("repositories").get(0);
            assertThat(repo.get("path").asText()).isEqualTo("code/swiftide-ask");
            assertThat(repo.get("updated").asBoolean()).as(fetched.toString()).isTrue();
            assertThat(repo.get("after").asText()).isNotEqualTo(repo.get("before").asText());
            assertThat(api.cmd(id, "ls code/swiftide-ask").get("output").asText()).contains("NEW.md");

            // reset: back to the clean state, same id
            api.cmd(id, "echo scratch > scratch.txt && rm tmp/hello.txt");
            assertThat(api.ok("POST", "/workspaces/" + id + "/reset", "{}").get("success").asBoolean()).isTrue();
            JsonNode after = api.cmd(id, "ls scratch.txt; cat tmp/hello.txt");
            assertThat(after.get("output").asText()).contains("No such file or directory", "Hello World");

            // errors
            assertError(api.send("POST", "/workspaces/does-not-exist/cmd_with_output", "{\"cmd\": \"true\"}"),
                    404, "workspace_not_found", "does-not-exist");
            assertError(api.send("POST", "/workspaces/" + id + "/cmd_with_output", "{\"cmd\": \"echo"), 400,
                    "invalid_request", "line 1");
            assertError(api.send("POST", "/workspaces/" + id + "/cmd_with_output", "{\"env\": {}}"), 400,
                    "invalid_request", "'cmd'");

            // timeout
            long start = System.nanoTime();
            JsonNode slow = api.ok("POST", "/workspaces/" + id + "/cmd_with_output", "{\"cmd\": \"sleep 30\", \"timeout\": 2}");
            assertThat(slow.get("timed_out").asBoolean()).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));

            assertThat(api.ok("DELETE", "/workspaces/" + id, null).asBoolean()).isTrue();
            assertThat(api.ok("GET", "/workspaces", null).get("workspaces")).isEmpty();
            assertThat(derrick.stderr()).doesNotContain(GIT_TOKEN);
        }
    }

    @Test
    void bearerTokenLargeBodiesConcurrencyAndSigterm() throws Exception {
        String apiToken = "api-token-" + Long.toHexString(new Random().nextLong());
        try (DerrickProcess derrick = launch(Map.of("DERRICK_API_TOKEN", apiToken))) {
            ApiClient api = new ApiClient(derrick.uri(), apiToken);
            ApiClient anonymous = api.withToken(null);
            assertThat(anonymous.send("GET", "/health", null).statusCode()).isEqualTo(200);
            assertError(anonymous.send("GET", "/workspaces", null), 401, "unauthorized", "Bearer");
            assertError(anonymous.send("POST", "/workspaces", "{}"), 401, "unauthorized", "Bearer");
            assertThat(api.withToken("wrong").send("GET", "/workspaces", null).statusCode()).isEqualTo(401);

            String a = api.create("{}");
            String b = api.create("{\"config\": {\"name\": \"plain\", \"setup_script\": \"echo plain > p.txt\"}}");
            assertThat(api.cmd(b, "cat p.txt").get("output").asText()).isEqualTo("plain\n");

            // 100 MiB file through write_file, back through read_file
            byte[] big = new byte[100 * 1024 * 1024];
            new Random(42).nextBytes(big);
            byte[] body = ("{\"path\": \"big.bin\", \"content\": \"" + Base64.getEncoder().encodeToString(big) + "\"}")
                    .getBytes(StandardCharsets.US_ASCII);
            HttpResponse<byte[]> w = api.sendWith("POST", "/workspaces/" + a + "/write_file", HttpRequest.BodyPublishers.ofByteArray(body));
            body = null;
            assertThat(w.statusCode()).as(new String(w.body(), StandardCharsets.UTF_8)).isEqualTo(200);
            HttpResponse<byte[]> r = api.send("POST", "/workspaces/" + a + "/read_file", "{\"path\": \"big.bin\"}");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(MessageDigest.getInstance("SHA-256").digest(r.body()))
                    .isEqualTo(MessageDigest.getInstance("SHA-256").digest(big));
            big = null;

            // a 2 GiB declared body is refused before it is read
            try (Socket socket = new Socket("127.0.0.1", derrick.port)) {
                socket.setSoTimeout(10_000);
                OutputStream out = socket.getOutputStream();
                out.write(("POST /workspaces/" + a + "/write_file HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                        + apiToken + "\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n{\"path\":")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertThat(readHead(socket.getInputStream())).startsWith("HTTP/1.1 413");
            }

            // a long command in A does not hold up B (nor other commands in A)
            CompletableFuture<JsonNode> longOne = CompletableFuture.supplyAsync(() -> api.cmd(a, "sleep 10; echo done"));
            Thread.sleep(500);
            long start = System.nanoTime();
            assertThat(api.cmd(b, "echo quick").get("output").asText()).isEqualTo("quick\n");
            assertThat(api.ok("GET", "/workspaces", null).get("workspaces")).hasSize(2);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(7));
            assertThat(longOne.isDone()).isFalse();
            assertThat(longOne.get(60, TimeUnit.SECONDS).get("output").asText()).isEqualTo("done\n");

            // SIGTERM while a command and a background process run: every workspace and process goes away
            List<String> roots = new ArrayList<>();
            for (JsonNode ws : api.ok("GET", "/workspaces", null).get("workspaces")) {
                roots.add(ws.get("root").asText());
            }
            assertThat(roots).hasSize(2).allSatisfy(root -> assertThat(Path.of(root)).isDirectory());
            // found by an environment marker: a sandboxed process's working directory is not a host path
            String marker = "djmark" + Long.toHexString(new Random().nextLong() & Long.MAX_VALUE);
            String markerEnv = ", \"env\": {\"DJ_MARK\": \"" + marker + "\"}";
            api.ok("POST", "/workspaces/" + b + "/cmd_with_output", "{\"cmd\": \"(sleep 300 &) ; echo started\"" + markerEnv + "}");
            String pid = api.ok("POST", "/workspaces/" + a + "/cmd",
                    "{\"cmd\": \"(sleep 302 >/dev/null 2>&1 &); echo bg; sleep 301\", \"background\": true" + markerEnv + "}")
                    .get("pid").asText();
            assertThat(api.ok("POST", "/workspaces/" + a + "/processes/" + pid + "/output", "{\"wait\": 5}")
                    .get("output").asText()).isEqualTo("bg\n");
            CompletableFuture.runAsync(() -> {
                try {
                    api.ok("POST", "/workspaces/" + a + "/cmd_with_output", "{\"cmd\": \"sleep 300\"" + markerEnv + "}");
                } catch (RuntimeException | AssertionError expected) {
                    // cut by the shutdown
                }
            });
            Thread.sleep(1000);
            assertThat(processesWith(marker)).as("the sleeps of b, a's background process and a's command").hasSizeGreaterThanOrEqualTo(4);

            assertThat(derrick.terminate(Duration.ofSeconds(60))).as(derrick.stderr()).isZero();
            for (String root : roots) {
                assertThat(Path.of(root)).doesNotExist();
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!processesWith(marker).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertThat(processesWith(marker)).isEmpty();
            assertThat(derrick.stderr()).doesNotContain(apiToken).contains("POST /workspaces");
        }
    }

    /** Processes whose working directory or command line is under one of the roots (from /proc). */
    /** Processes anywhere on the host whose environment holds {@code DJ_MARK=<marker>}. */
    static List<String> processesWith(String marker) throws IOException {
        byte[] needle = ("DJ_MARK=" + marker).getBytes(StandardCharsets.UTF_8);
        List<String> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                if (!proc.getFileName().toString().matches("\\d+")) {
                    continue;
                }
                try {
                    byte[] env = Files.readAllBytes(proc.resolve("environ"));
                    String stat = Files.readString(proc.resolve("stat"), StandardCharsets.ISO_8859_1);
                    boolean zombie = stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
                    if (!zombie && new String(env, StandardCharsets.ISO_8859_1).contains(new String(needle, StandardCharsets.ISO_8859_1))) {
                        found.add(proc.getFileName().toString());
                    }
                } catch (IOException | RuntimeException ignored) {
                    // gone
                }
            }
        }
        return found;
    }

    static List<String> processesUnder(List<String> roots) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                if (!proc.getFileName().toString().matches("\\d+")) {
                    continue;
                }
                String cwd = "";
                String cmdline = "";
                try {
                    cwd = Files.readSymbolicLink(proc.resolve("cwd")).toString();
                } catch (IOException | UnsupportedOperationException ignored) {
                    // gone or not ours
                }
                try {
                    cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                } catch (IOException ignored) {
                    // gone
                }
                for (String root : roots) {
                    if (cwd.startsWith(root) || cmdline.contains(root)) {
                        found.add(proc.getFileName() + " cwd=" + cwd + " cmd=" + cmdline);
                    }
                }
            }
        }
        return found;
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            sb.append((char) c);
            if (sb.toString().endsWith("\r\n\r\n")) {
                break;
            }
        }
        return sb.toString();
    }
}
