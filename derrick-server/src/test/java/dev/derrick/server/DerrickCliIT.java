package dev.derrick.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad input to the packaged jar: each case exits non-zero with one clear line on stderr and no stack trace. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DerrickCliIT {
    @TempDir
    Path dir;

    private Path file(String name, String content) throws Exception {
        return Files.writeString(dir.resolve(name), content);
    }

    private static void assertOneCleanLine(DerrickProcess p, String... parts) {
        String err = p.stderr();
        assertThat(p.exitCode()).as(err).isNotZero();
        // the provider's own start-up log lines (e.g. which isolation it has) may come first; the error is one line
        assertThat(err.strip().lines().filter(l -> !l.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} (INFO|WARN) .*"))).as(err).hasSize(1);
        assertThat(err).as(err).doesNotContain("Exception", "\tat ").doesNotContainPattern("(?m)^\\s+at ");
        for (String part : parts) {
            assertThat(err).contains(part);
        }
    }

    @Test
    void missingConfigFile() throws Exception {
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "local", "-s", "http", "-w", dir.resolve("nope.json").toString());
        assertOneCleanLine(p, "not found", "nope.json");
    }

    @Test
    void malformedJsonGivesLineAndColumn() throws Exception {
        Path config = file("bad.json", "{\n  \"name\": \"x\",\n  \"repositories\": [,]\n}\n");
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "local", "-w", config.toString());
        assertOneCleanLine(p, "bad.json", "line 3", "column");
    }

    @Test
    void unknownFieldIsNamed() throws Exception {
        Path config = file("unknown.json", "{\"name\": \"x\", \"setup\": \"true\"}");
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "local", "-w", config.toString());
        assertOneCleanLine(p, "unknown field 'setup'");
    }

    @Test
    void unknownProvisioningModeListsTheAvailableOnes() throws Exception {
        Path config = file("ok.json", "{\"name\": \"x\"}");
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "kubernetes", "-w", config.toString());
        assertOneCleanLine(p, "'kubernetes'", "available:", "local");
    }

    @Test
    void aMistypedProvisioningModeGetsADidYouMean() throws Exception {
        Path config = file("ok.json", "{\"name\": \"x\"}");
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "lcoal", "-w", config.toString());
        assertOneCleanLine(p, "no workspace provider named 'lcoal' (did you mean 'local'?); available:");
        assertOneCleanLine(DerrickProcess.run(dir, Map.of(), "-p", "local", "-s", "htpp", "-w", config.toString()),
                "unknown server mode 'htpp' (did you mean 'http'?)");
    }

    @Test
    void everyUnknownConfigFieldIsNamedOnOneLine() throws Exception {
        Path config = file("typos.json", "{\"name\": \"x\", \"setup_scirpt\": \"true\",\n \"repositories\": [{\"url\": "
                + "\"https://h/a.git\", \"path\": \"a\", \"refrence\": \"main\"}]}");
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "local", "-w", config.toString());
        assertOneCleanLine(p, "'setup_scirpt' at line 1", "(did you mean 'setup_script'?)",
                "'refrence' in repositories[0] at line 2", "(did you mean 'reference'?)");
    }

    @Test
    void theOriginalToolsConfigIsAccepted() throws Exception {
        // The original derrick's integration-test config, verbatim except the repository, which points at a local
        // path so the test needs no network (the shape, with 'name', is the point).
        Path config = file("original.json", "{\n  \"name\": \"swiftide-ask\",\n  \"repositories\": [\n    {\n"
                + "      \"name\": \"swiftide-ask\",\n      \"path\": \"/code/swiftide-ask\",\n"
                + "      \"url\": \"https://github.com/bosun-ai/swiftide-ask\"\n    }\n  ],\n"
                + "  \"setup_script\": \"rm /tmp/hello.txt; echo \\\"Hello World\\\" > /tmp/hello.txt\"\n}");
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "lcoal", "-w", config.toString());
        // The config is read before the provider is looked up: a config error would be named first.
        assertOneCleanLine(p, "'lcoal' (did you mean 'local'?)");
    }

    @Test
    void unknownAndUnavailableServerModes() throws Exception {
        Path config = file("ok.json", "{\"name\": \"x\"}");
        assertOneCleanLine(DerrickProcess.run(dir, Map.of(), "-p", "local", "-s", "grpc", "-w", config.toString()),
                "unknown server mode 'grpc'", "http, mcp, nats");
        // Until the NATS agent lands this says "not yet available"; afterwards, with no nats-server at the URL, it
        // must still be one clean line naming NATS.
        assertOneCleanLine(DerrickProcess.run(dir, Map.of(), "-p", "local", "-s", "nats", "-w", config.toString(),
                "--nats-url", "nats://127.0.0.1:" + DerrickProcess.freePort()), "nats");
    }

    @Test
    void aPoolSizeOutOfRangeOrForAProviderWithoutAPoolIsOneLine() throws Exception {
        Path config = file("ok.json", "{\"name\": \"x\"}");
        assertOneCleanLine(DerrickProcess.run(dir, Map.of(), "-p", "local", "--pool", "-3", "-w", config.toString()),
                "--pool must be between 0 and 1000, got -3");
        assertOneCleanLine(DerrickProcess.run(dir, Map.of(), "-p", "remote_nats", "--pool", "2", "-w", config.toString(),
                "--nats-url", "nats://127.0.0.1:" + DerrickProcess.freePort()), "provider 'remote_nats' has no warm pool");
    }

    @Test
    void nonLoopbackBindWithoutTokenIsRefused() throws Exception {
        Path config = file("ok.json", "{\"name\": \"x\"}");
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "local", "--bind", "0.0.0.0", "-w", config.toString());
        assertOneCleanLine(p, "DERRICK_API_TOKEN");
    }

    @Test
    void unknownOptionOrMissingModeIsOneLine() throws Exception {
        assertOneCleanLine(DerrickProcess.run(dir, Map.of(), "-p", "local", "--frobnicate"), "--frobnicate");
        assertOneCleanLine(DerrickProcess.run(dir, Map.of(), "-w", "x.json"), "-p/--provisioning-mode", "local");
    }

    @Test
    void portInUse() throws Exception {
        Path config = file("ok.json", "{\"name\": \"x\"}");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            DerrickProcess p = DerrickProcess.run(dir, Map.of(), "-p", "local", "-w", config.toString(),
                    "--port", String.valueOf(taken.getLocalPort()));
            assertOneCleanLine(p, String.valueOf(taken.getLocalPort()), "in use");
        }
    }

    @Test
    void aBackendAddedToTheClassPathAppearsAndServes() throws Exception {
        // target/test-classes holds a third-party-style backend ("testdir") registered in META-INF/services.
        Path backend = Path.of("target", "test-classes");
        DerrickProcess help = DerrickProcess.start(dir, Map.of(), backend, java.util.List.of("--help"), -1);
        assertThat(help.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(help.stdout()).contains("local", "testdir");
        int port = DerrickProcess.freePort();
        Path config = file("ok.json", "{\"name\": \"x\", \"setup_script\": \"echo third-party > who.txt\"}");
        try (DerrickProcess p = DerrickProcess.start(dir.resolve("serve"), Map.of(), backend, java.util.List.of("-p", "testdir",
                "-w", config.toString(), "--port", String.valueOf(port)), port).awaitHealthy(java.time.Duration.ofSeconds(60))) {
            ApiClient api = new ApiClient(p.uri(), null);
            String id = api.create("{}");
            assertThat(api.cmd(id, "cat who.txt").get("output").asText()).isEqualTo("third-party\n");
            assertThat(p.terminate(java.time.Duration.ofSeconds(30))).isZero();
        }
    }

    @Test
    void helpListsProvidersFoundOnTheClassPath() throws Exception {
        DerrickProcess p = DerrickProcess.run(dir, Map.of(), "--help");
        assertThat(p.exitCode()).isZero();
        assertThat(p.stdout()).contains("--provisioning-mode", "local", "--workspace-config-path", "--server-mode",
                "--bind", "--port", "--nats-url", "--cache-dir", "--pool", "--log-level");
        DerrickProcess v = DerrickProcess.run(dir, Map.of(), "-V");
        assertThat(v.exitCode()).isZero();
        assertThat(v.stdout()).startsWith("derrick ");
    }
}
