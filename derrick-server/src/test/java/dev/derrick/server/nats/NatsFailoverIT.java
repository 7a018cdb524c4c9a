package dev.derrick.server.nats;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.remote.AgentGoneException;
import dev.derrick.remote.RemoteWorkspaces;
import dev.derrick.tck.NatsTestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Agents dying, NATS restarting, agents filling up: each on its own real nats-server and agent processes. */
@Timeout(240)
class NatsFailoverIT {
    static WorkspaceConfig config() {
        return WorkspaceConfig.builder("failover").setupScript("echo ready > setup.txt").build();
    }

    static WorkspaceProvider controller(NatsTestServer nats, Fleet fleet, String requestTimeout) {
        return WorkspaceProviders.open("remote_nats", Map.of("nats_url", nats.url(), "prefix", fleet.prefix(),
                "request_timeout", requestTimeout));
    }

    static String agentOf(Workspace ws) {
        return RemoteWorkspaces.agent(ws).orElseThrow();
    }

    @Test
    void aKilledAgentsWorkspacesReportAgentGoneFastAndSurvivorsTakeNewCreates() throws Exception {
        try (NatsTestServer nats = NatsTestServer.start();
             Fleet fleet = new Fleet(nats.url(), "kill").agent("k1", 10).agent("k2", 10).agent("k3", 10);
             WorkspaceProvider p = controller(nats, fleet, "60")) {
            List<Workspace> all = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                all.add(p.create(config()));
            }
            Workspace victim = all.stream().filter(w -> agentOf(w).equals("k2")).findFirst()
                    .orElseThrow(() -> new AssertionError("k2 got no workspace of 12"));
            // a long command in flight on the agent that dies: it must not wait for its 60 s request timeout
            CompletableFuture<Object> running = CompletableFuture.supplyAsync(
                    () -> victim.exec(ExecRequest.of("sleep 20").withTimeout(Duration.ofSeconds(30))));
            Thread.sleep(500);
            long killed = System.nanoTime();
            fleet.kill("k2");

            assertThatThrownBy(() -> running.get(15, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(AgentGoneException.class)
                    .hasMessageContaining("agent k2 is gone").hasMessageContaining("last heartbeat");
            long detectedMs = (System.nanoTime() - killed) / 1_000_000;
            System.out.println("[failover] in-flight exec on a SIGKILLed agent failed after " + detectedMs
                    + " ms (heartbeat " + Fleet.HEARTBEAT.toMillis() + " ms)");
            assertThat(detectedMs).isLessThan(8 * Fleet.HEARTBEAT.toMillis() + 2000);

            for (Workspace ws : all) {
                if (agentOf(ws).equals("k2")) {
                    long start = System.nanoTime();
                    assertThatThrownBy(() -> ws.exec("true")).isInstanceOf(WorkspaceNotFoundException.class)
                            .hasMessageContaining(ws.id()).hasMessageContaining("agent k2 is gone");
                    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(1000);
                } else {
                    assertThat(ws.exec("cat setup.txt").stdout()).isEqualTo("ready\n");
                }
            }
            for (int i = 0; i < 6; i++) {
                Workspace fresh = p.create(config());
                assertThat(agentOf(fresh)).isIn("k1", "k3");
                assertThat(fresh.exec("cat setup.txt").stdout()).isEqualTo("ready\n");
            }
        }
    }

    @Test
    void aNatsServerRestartIsRiddenOutByAgentsAndController() throws Exception {
        try (NatsTestServer nats = NatsTestServer.start();
             Fleet fleet = new Fleet(nats.url(), "restart").agent("r1", 10).agent("r2", 10);
             WorkspaceProvider p = controller(nats, fleet, "30")) {
            List<Workspace> all = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                all.add(p.create(config()));
            }
            nats.stop();
            Thread.sleep(2000); // longer than the agents' "gone" threshold: time offline must not count
            // a request sent while the server is down is buffered and answered after the reconnect
            CompletableFuture<String> during = CompletableFuture.supplyAsync(() -> all.get(0).exec(ExecRequest.of("echo during").withTimeout(Duration.ofSeconds(10))).stdout());
            Thread.sleep(300);
            nats.restart();
            assertThat(during.get(30, TimeUnit.SECONDS)).isEqualTo("during\n");
            // both agents are back: their heartbeats reach a fresh subscriber
            try (io.nats.client.Connection raw = io.nats.client.Nats.connect(nats.url())) {
                io.nats.client.Subscription sub = raw.subscribe(fleet.prefix() + ".heartbeat.*");
                java.util.Set<String> heard = new java.util.TreeSet<>();
                long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (heard.size() < 2 && System.nanoTime() < until) {
                    io.nats.client.Message m = sub.nextMessage(Duration.ofSeconds(1));
                    if (m != null) {
                        heard.add(m.getSubject());
                    }
                }
                assertThat(heard).containsExactly("restart.heartbeat.r1", "restart.heartbeat.r2");
            }
            for (Workspace ws : all) {
                assertThat(ws.exec(ExecRequest.of("cat setup.txt").withTimeout(Duration.ofSeconds(10))).stdout())
                        .isEqualTo("ready\n");
                ws.writeString("after.txt", "restart");
                assertThat(ws.readString("after.txt")).isEqualTo("restart");
            }
            Workspace fresh = p.create(config());
            assertThat(fresh.exec("cat setup.txt").stdout()).isEqualTo("ready\n");
            assertThat(fleet.log("r1")).containsIgnoringCase("reconnected");
        }
    }

    @Test
    void aFullAgentTakesNoCreatesAndAFullFleetSaysNoCapacity() {
        try (NatsTestServer nats = NatsTestServer.start();
             Fleet fleet = new Fleet(nats.url(), "full").agent("small", 1).agent("big", 3);
             WorkspaceProvider p = controller(nats, fleet, "20")) {
            List<Workspace> all = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                all.add(p.create(config()));
            }
            assertThat(all.stream().filter(w -> agentOf(w).equals("small")).count()).isEqualTo(1);
            assertThat(all.stream().filter(w -> agentOf(w).equals("big")).count()).isEqualTo(3);
            long start = System.nanoTime();
            assertThatThrownBy(() -> p.create(config()))
                    .isInstanceOf(ProviderUnavailableException.class)
                    .hasMessageContaining("no capacity")
                    .hasMessageContaining("small 1/1").hasMessageContaining("big 3/3");
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(5000);
            Workspace onSmall = all.stream().filter(w -> agentOf(w).equals("small")).findFirst().orElseThrow();
            onSmall.close();
            Workspace again = p.create(config());
            assertThat(agentOf(again)).isEqualTo("small");
        }
    }
}
