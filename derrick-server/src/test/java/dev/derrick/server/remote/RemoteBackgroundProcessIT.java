package dev.derrick.server.remote;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.ProcessNotFoundException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProcess;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;
import dev.derrick.server.internal.nats.NatsAgent;
import dev.derrick.tck.NatsTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Background processes, the file API and diff through {@code remote_http} and {@code remote_nats} to an agent whose
 * backend is {@code docker} (busybox): the wire half of the process handle (start, output long-polls, streaming,
 * stdin, wait, kill, lookup) against a backend that runs them, on both transports.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class RemoteBackgroundProcessIT {
    static final String IMAGE = System.getenv().getOrDefault("DERRICK_BUSYBOX_IMAGE", "derrick-test/busybox:1");
    Operations operations;
    HttpApiServer http;
    NatsTestServer nats;
    NatsAgent agent;

    @BeforeAll
    void start() throws Exception {
        WorkspaceProvider docker = WorkspaceProviders.open("docker", Map.of("root", "/workspace"));
        operations = new Operations(docker, null, new Redactor());
        http = HttpApiServer.builder(operations).bind(InetAddress.getLoopbackAddress()).port(0).threads(16).start();
        nats = NatsTestServer.start();
        agent = NatsAgent.builder(operations).url(nats.url()).prefix("bgit").agentId("bg-agent").maxWorkspaces(8)
                .heartbeatInterval(Duration.ofMillis(500)).start();
    }

    @AfterAll
    void stop() {
        try {
            if (agent != null) {
                agent.close();
            }
            if (nats != null) {
                nats.close();
            }
            if (http != null) {
                http.close();
            }
        } finally {
            if (operations != null) {
                operations.close();
            }
        }
    }

    WorkspaceProvider client(String transport) {
        return transport.equals("remote_http")
                ? WorkspaceProviders.open("remote_http", Map.of("url", http.uri().toString()))
                : WorkspaceProviders.open("remote_nats", Map.of("nats_url", nats.url(), "prefix", "bgit"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"remote_http", "remote_nats"})
    void aBackgroundProcessOverTheWire(String transport) throws Exception {
        try (WorkspaceProvider remote = client(transport);
             Workspace ws = remote.create(WorkspaceConfig.builder("bg-" + transport).image(IMAGE).build())) {
            WorkspaceProcess p = ws.start(ExecRequest.of("echo ready; read line; echo \"got $line\"; sleep 300"));
            List<String> streamed = new CopyOnWriteArrayList<>();
            try (AutoCloseable sub = p.subscribe(0, (k, c) -> streamed.add(c))) {
                assertThat(p.waitForOutput("ready", Duration.ofSeconds(30))).isTrue();
                p.writeStdin("over the wire\n".getBytes(StandardCharsets.UTF_8));
                assertThat(p.waitForOutput("got over the wire", Duration.ofSeconds(30))).isTrue();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (!String.join("", streamed).contains("got over the wire") && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(String.join("", streamed)).contains("ready").contains("got over the wire");
            }
            assertThat(ws.processes()).extracting(WorkspaceProcess::id).contains(p.id());
            assertThat(ws.process(p.id())).isPresent();
            assertThat(ws.process("p-nope")).isEmpty();
            assertThat(p.info().running()).isTrue();
            assertThat(p.waitFor(Duration.ofMillis(300))).isEmpty();
            ExecResult killed = p.kill();
            assertThat(killed.stdout()).contains("got over the wire");
            assertThat(p.info().running()).isFalse();
            assertThat(p.info().killed()).isTrue();
            assertThat(ws.exec("ps").stdout()).doesNotContain("sleep 300");

            WorkspaceProcess quick = ws.start(ExecRequest.of("exit 5"));
            assertThat(quick.waitFor(Duration.ofSeconds(30)).orElseThrow().exitCode()).isEqualTo(5);

            // the file API and diff travel too
            ws.mkdirs("a/b");
            ws.writeString("a/b/c.txt", "abc");
            java.util.Optional<dev.derrick.api.FileStat> st = ws.stat("a/b/c.txt");
            assertThat(st).as("stat; ls says %s", st.isPresent() ? "" : ws.exec("ls -la /workspace/a/b; sleep 1; ls -la /workspace/a/b").output())
                    .get().extracting(s -> s.size()).isEqualTo(3L);
            assertThat(ws.listFiles("a", 5, 10).entries()).extracting(s -> s.path()).containsExactly("a/b", "a/b/c.txt");
            ws.move("a/b/c.txt", "a/d.txt");
            assertThat(ws.editFile("a/d.txt", "b", "B", false)).isEqualTo(1);
            assertThat(ws.readString("a/d.txt")).isEqualTo("aBc");
            ws.delete("a", true);
            assertThat(ws.exists("a")).isFalse();
            ws.writeString("outside.txt", "x");
            dev.derrick.api.WorkspaceDiff diff = ws.diff(); // no repositories: git is not needed
            assertThat(diff.repositories()).isEmpty();
            assertThat(diff.outsideTracked()).isTrue();
            assertThat(diff.outsideRepositories()).extracting(c -> c.path()).contains("outside.txt");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"remote_http", "remote_nats"})
    void anUnknownProcessIsAClearError(String transport) {
        try (WorkspaceProvider remote = client(transport);
             Workspace ws = remote.create(WorkspaceConfig.builder("bg-unknown").image(IMAGE).build())) {
            WorkspaceProcess p = ws.start(ExecRequest.of("true"));
            p.waitFor(Duration.ofSeconds(30)).orElseThrow();
            assertThat(ws.process(p.id())).isPresent();
            // a handle id the agent never gave
            assertThatThrownBy(() -> ws.process("p999").orElseThrow().info())
                    .isInstanceOf(java.util.NoSuchElementException.class);
            assertThat(ws.process("../../etc")).isEmpty();
            assertThat(ProcessNotFoundException.class).isNotNull();
        }
    }
}
