package dev.derrick.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

import java.time.Instant;
import java.util.List;

/**
 * What an agent announces every heartbeat interval (JSON, snake_case).
 *
 * @param agentId     the agent's id (a subject token)
 * @param provider    its backend ({@code local}, {@code docker})
 * @param host        host name, for people
 * @param capacity    most workspaces it takes
 * @param workspaces  ids of its live workspaces
 * @param intervalMs  heartbeat interval
 * @param started     when it started
 * @param updated     when this heartbeat was sent (the agent's clock)
 * @param stopping    the agent is shutting down: its workspaces are going away
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record AgentHeartbeat(String agentId, String provider, String host, int capacity, List<String> workspaces,
                             long intervalMs, Instant started, Instant updated, boolean stopping) {
    public AgentHeartbeat {
        workspaces = List.copyOf(workspaces == null ? List.of() : workspaces);
    }

    /** Free slots. */
    public int free() {
        return Math.max(0, capacity - workspaces.size());
    }
}
