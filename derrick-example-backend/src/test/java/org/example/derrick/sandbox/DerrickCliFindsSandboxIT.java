package org.example.derrick.sandbox;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The derrick command line finds the sandbox backend with {@code -p sandbox} when its jar is merely put next to
 * derrick.jar on the class path: no change to derrick, no registration but the services file. The child JVM gets
 * exactly two jars.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DerrickCliFindsSandboxIT {
    private static String classPath;

    @TempDir
    Path temp;

    @BeforeAll
    static void jars() {
        Path derrick = Path.of(System.getProperty("derrick.jar", "../derrick-server/target/derrick.jar")).toAbsolutePath().normalize();
        Path backend = Path.of(System.getProperty("backend.jar", "target/derrick-example-backend-0.1.0-SNAPSHOT.jar")).toAbsolutePath().normalize();
        assertThat(derrick).as("derrick.jar (built by derrick-server's package phase)").isRegularFile();
        assertThat(backend).as("this module's jar (built by its package phase)").isRegularFile();
        classPath = derrick + java.io.File.pathSeparator + backend;
    }

    private Process start(Path output, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + temp, "-cp", classPath, "dev.derrick.server.DerrickCli"));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    }

    @Test
    void helpListsTheSandboxProvider() throws Exception {
        Path out = temp.resolve("help.txt");
        Process p = start(out, "--help");
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(Files.readString(out)).containsPattern("Workspace provider: [a-z_,\\s]*sandbox");
    }

    @Test
    void servesSandboxWorkspacesOverHttp() throws Exception {
        Path config = temp.resolve("workspace.json");
        Files.writeString(config, """
                {"name": "cli-sandbox", "setup_script": "echo from-setup > hello.txt"}
                """);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path out = temp.resolve("server.txt");
        Path cache = temp.resolve("cache");
        // --cache-dir reaches the engine the sandbox opened: a third-party backend gets the CLI's cache options too.
        Process server = start(out, "-p", "sandbox", "-s", "http", "-w", config.toString(), "--port", String.valueOf(port),
                "--cache-dir", cache.toString());
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String base = "http://127.0.0.1:" + port;
        try {
            waitForHealth(http, base, server, out);
            HttpResponse<String> created = http.send(post(base + "/workspaces", "{}"), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).as(created.body()).isBetween(200, 299);
            Matcher id = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"").matcher(created.body());
            assertThat(id.find()).as(created.body()).isTrue();
            assertThat(id.group(1)).startsWith("sandbox-");

            HttpResponse<String> ran = http.send(post(base + "/workspaces/" + id.group(1) + "/cmd_with_output",
                    "{\"cmd\": \"cat hello.txt; pwd\"}"), HttpResponse.BodyHandlers.ofString());
            assertThat(ran.statusCode()).as(ran.body()).isEqualTo(200);
            assertThat(ran.body()).contains("from-setup").contains(temp.resolve("derrick-sandbox").toString());
            try (var entries = Files.list(cache.resolve("sandbox"))) {
                assertThat(entries).as("the clean state, cached: an entry whose tree holds the setup's file")
                        .anyMatch(entry -> Files.isRegularFile(entry.resolve("entry.json"))
                                && Files.isRegularFile(entry.resolve(SandboxProvider.TREE).resolve("hello.txt")));
            }
        } finally {
            server.destroy();   // SIGTERM: the CLI removes every workspace and exits 0
            assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(server.exitValue()).as(Files.readString(out)).isZero();
        try (var left = Files.list(temp.resolve("derrick-sandbox"))) {
            assertThat(left).as("sandbox workspaces left after the server stopped").isEmpty();
        }
    }

    private static HttpRequest post(String url, String json) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)).build();
    }

    private static void waitForHealth(HttpClient http, String base, Process server, Path out) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                throw new AssertionError("derrick exited with " + server.exitValue() + ": " + Files.readString(out));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/health"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("derrick did not answer /health within 60 s: " + Files.readString(out));
    }
}
