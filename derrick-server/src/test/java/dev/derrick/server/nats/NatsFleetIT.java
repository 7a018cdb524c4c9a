package dev.derrick.server.nats;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.remote.RemoteWorkspaces;
import dev.derrick.tck.NatsTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Three agent processes on one real nats-server, driven through {@code remote_nats}. */
@Timeout(240)
class NatsFleetIT {
    static NatsTestServer nats;
    static Fleet fleet;

    @BeforeAll
    static void startFleet() {
        nats = NatsTestServer.start();
        fleet = new Fleet(nats.url(), "fleet");
        fleet.agent("a1", 20).agent("a2", 20).agent("a3", 20);
    }

    @AfterAll
    static void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
        if (nats != null) {
            nats.close();
        }
    }

    static WorkspaceProvider controller() {
        return WorkspaceProviders.open("remote_nats", Map.of("nats_url", nats.url(), "prefix", fleet.prefix(),
                "request_timeout", "20"));
    }

    static WorkspaceConfig config() {
        return WorkspaceConfig.builder("fleet").setupScript("echo ready > setup.txt").env("FLEET", "yes").build();
    }

    @Test
    void thirtyCreatesSpreadOverAllAgentsAndEveryWorkspaceWorks() throws Exception {
        try (WorkspaceProvider p = controller()) {
            ExecutorService pool = Executors.newFixedThreadPool(6);
            List<Future<Workspace>> futures = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                futures.add(pool.submit(() -> p.create(config())));
            }
            List<Workspace> all = new ArrayList<>();
            for (Future<Workspace> f : futures) {
                all.add(f.get());
            }
            Map<String, Long> perAgent = all.stream().collect(Collectors.groupingBy(
                    w -> RemoteWorkspaces.agent(w).orElseThrow(), TreeMap::new, Collectors.counting()));
            System.out.println("[fleet] 30 creates per agent: " + perAgent);
            assertThat(perAgent).containsOnlyKeys("a1", "a2", "a3");
            assertThat(perAgent.values()).allSatisfy(n -> assertThat(n).isPositive());

            List<Future<?>> checks = new ArrayList<>();
            for (Workspace ws : all) {
                checks.add(pool.submit(() -> {
                    ExecResult r = ws.exec(ExecRequest.of("cat setup.txt; echo \"$FLEET $EXTRA\"; echo oops >&2; exit 3")
                            .withEnv("EXTRA", ws.id()));
                    assertThat(r.exitCode()).isEqualTo(3);
                    assertThat(r.stdout()).startsWith("ready\nyes " + ws.id() + "\n");
                    assertThat(r.output()).contains("oops\n");
                    ws.writeString("notes/" + ws.id() + ".txt", "hello " + ws.id());
                    assertThat(ws.readString("notes/" + ws.id() + ".txt")).isEqualTo("hello " + ws.id());
                    assertThat(ws.info().id()).isEqualTo(ws.id());
                    return null;
                }));
            }
            for (Future<?> f : checks) {
                f.get();
            }
            pool.shutdown();
            // a second controller finds workspaces it did not create, through the agents' heartbeats
            try (WorkspaceProvider other = controller()) {
                Workspace seen = other.get(all.get(0).id());
                assertThat(seen.exec("cat setup.txt").stdout()).isEqualTo("ready\n");
            }
            for (Workspace ws : all) {
                ws.close();
            }
            assertThat(p.list()).isEmpty();
            assertThatThrownBy(() -> all.get(1).exec("true")).isInstanceOf(WorkspaceNotFoundException.class);
        }
    }

    @Test
    void filesAndOutputLargerThanTheMaxPayloadTravelInParts() {
        try (WorkspaceProvider p = controller(); Workspace ws = p.create(config())) {
            byte[] big = new byte[3 * 1024 * 1024 + 123];
            new Random(7).nextBytes(big);
            ws.writeFile("big.bin", big);
            assertThat(ws.exec("wc -c < big.bin").stdout().trim()).isEqualTo(String.valueOf(big.length));
            assertThat(ws.readFile("big.bin")).isEqualTo(big);
            // 2.5 MB of output: the cmd_with_output reply is bigger than one NATS message
            ExecResult r = ws.exec("head -c 2500000 /dev/zero | tr '\\0' 'x'");
            assertThat(r.succeeded()).isTrue();
            assertThat(r.stdout()).hasSize(2_500_000);
            assertThat(r.output()).hasSize(2_500_000);
        }
    }

    @Test
    void unknownWorkspaceAndBadRequestsAreClearErrors() {
        try (WorkspaceProvider p = controller(); Workspace ws = p.create(config())) {
            assertThatThrownBy(() -> ws.readFile("missing.txt")).hasMessageContaining("missing.txt");
            assertThat(ws.exec(ExecRequest.of("sleep 5").withTimeout(Duration.ofMillis(300))).timedOut()).isTrue();
            assertThat(new String(ws.readFile("setup.txt"), StandardCharsets.UTF_8)).isEqualTo("ready\n");
        }
    }
}
