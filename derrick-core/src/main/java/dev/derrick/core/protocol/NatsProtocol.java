package dev.derrick.core.protocol;

import dev.derrick.api.InvalidConfigException;

/**
 * Subjects, headers and limits shared by derrick agents ({@code -s nats}) and the {@code remote_nats} provider.
 *
 * <ul>
 *   <li>{@code <prefix>.claim} — served by the queue group {@value #AGENT_QUEUE}: an agent with a free slot
 *       reserves it and answers {@code {"agent": id, "reservation": r}}; a full agent is not subscribed.</li>
 *   <li>{@code <prefix>.agent.<agentId>.<op>} — every operation ({@code create} with the reservation, then
 *       {@code cmd_with_output}, {@code read_file}, … with header {@value #WORKSPACE}) served by that agent only.
 *       Bodies are the HTTP API's JSON; the reply's {@value #STATUS} header is the HTTP status.</li>
 *   <li>{@code <prefix>.heartbeat.<agentId>} — an {@link AgentHeartbeat} every interval, also stored in the
 *       JetStream key-value bucket {@link #bucket(String)} so a controller that starts later sees every agent.</li>
 * </ul>
 * Bodies larger than the server's max payload travel in parts ({@value #TRANSFER}, {@value #PART}); large replies
 * likewise ({@value #CHUNKS}, fetched with the {@code chunk} operation). Nothing is ever silently truncated.
 */
public final class NatsProtocol {
    public static final String DEFAULT_PREFIX = "derrick";
    public static final String AGENT_QUEUE = "derrick-agents";
    public static final String DEFAULT_BUCKET = "derrick_agents";
    /**
     * The {@code io.nats.service} name every agent registers (discovery: {@code $SRV.PING.derrick-agent}, …); one
     * service instance per agent, its metadata naming the agent, prefix and provider.
     */
    public static final String SERVICE_NAME = "derrick-agent";
    /** The version of this protocol, as the agents' service reports it. */
    public static final String SERVICE_VERSION = "1.0.0";

    public static final String WORKSPACE = "Derrick-Workspace";
    /** Request header: the background process an operation addresses ({@code process_output}, …). */
    public static final String PROCESS = "Derrick-Process";
    public static final String STATUS = "Derrick-Status";
    public static final String AGENT = "Derrick-Agent";
    public static final String RESERVATION = "Derrick-Reservation";
    public static final String STREAM = "Derrick-Stream";
    /** Reply header: how many output messages were published to the {@value #STREAM} subject before the reply. */
    public static final String STREAMED = "Derrick-Streamed";
    public static final String TRANSFER = "Derrick-Transfer";
    public static final String PART = "Derrick-Part";
    public static final String CHUNKS = "Derrick-Chunks";

    /** Operation token of a request for the next part of a large reply. */
    public static final String CHUNK_OP = "chunk";
    /** Operation token of a request for the agent's workspace list (same body as {@code GET /workspaces}). */
    public static final String LIST_OP = "list";

    /** Largest body derrick moves over NATS in parts; bigger files are refused with a clear error. */
    public static final long MAX_TRANSFER_BYTES = 256L * 1024 * 1024;

    /** Heartbeats an agent may miss before controllers report it gone. */
    public static final int MISSED_HEARTBEATS = 3;

    private NatsProtocol() {
    }

    /** Checks a subject prefix: dot-separated tokens without wildcards or spaces. */
    public static String checkPrefix(String prefix) {
        if (prefix == null || !prefix.matches("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*")) {
            throw new InvalidConfigException("NATS prefix '" + prefix + "' is not a valid subject prefix "
                    + "(letters, digits, '_', '-', separated by dots)");
        }
        return prefix;
    }

    /** Checks an agent id: one subject token. */
    public static String checkAgentId(String agentId) {
        if (agentId == null || !agentId.matches("[A-Za-z0-9_-]+")) {
            throw new InvalidConfigException("agent id '" + agentId + "' must be letters, digits, '_' or '-'");
        }
        return agentId;
    }

    public static String claimSubject(String prefix) {
        return prefix + ".claim";
    }

    public static String agentSubject(String prefix, String agentId, String op) {
        return prefix + ".agent." + agentId + "." + op;
    }

    public static String heartbeatSubject(String prefix, String agentId) {
        return prefix + ".heartbeat." + agentId;
    }

    /** The key-value bucket of a prefix: {@code derrick_agents} for the default one. */
    public static String bucket(String prefix) {
        return prefix.equals(DEFAULT_PREFIX) ? DEFAULT_BUCKET : prefix.replace('.', '_') + "_agents";
    }

    /** Body bytes per message for a server max payload, leaving room for headers. */
    public static int chunkSize(long maxPayload) {
        long size = maxPayload > 64 * 1024 ? maxPayload - 16 * 1024 : maxPayload / 2;
        return (int) Math.max(1024, size);
    }
}
